"""The model card: a Markdown page next to the model that says what it is and how good it is.

Written by ``fds train`` from what ``model.json`` records, so the card and the model can never
disagree; the figures are those of the validation steps, which the threshold was chosen on, and
are therefore a little optimistic. ``fds evaluate`` on later steps gives the honest ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ml.features import FEATURE_DOCS

logger = logging.getLogger(__name__)

CARD_FILE: Final = "MODEL_CARD.md"

#: Features whose importance is at least this share (in %) are named as the patterns relied on.
_LEANS_ON: Final = 5.0


def write_model_card(
    out_dir: Path,
    *,
    version: str,
    threshold: float,
    metrics: Mapping[str, Any],
    training: Mapping[str, Any],
    plots: Sequence[str],
) -> Path:
    """Write ``MODEL_CARD.md`` into ``out_dir`` and return its path."""
    path = out_dir / CARD_FILE
    path.write_text(render_model_card(version, threshold, metrics, training, plots))
    logger.info("model card written to %s", path)
    return path


def render_model_card(
    version: str,
    threshold: float,
    metrics: Mapping[str, Any],
    training: Mapping[str, Any],
    plots: Sequence[str],
) -> str:
    """The card's Markdown."""
    importance: dict[str, float] = dict(training.get("feature_importance", {}))
    ranked = sorted(importance.items(), key=lambda item: -item[1])
    leaned_on = [name for name, value in ranked if value >= _LEANS_ON]
    weights = training.get("weights_column")
    choice = training.get("threshold_choice", {})
    options = training.get("options", {})
    train_steps, valid_steps = training["train_steps"], training["validation_steps"]
    lines = [
        f"# Model card: {version}",
        "",
        "A CatBoost binary classifier that scores PaySim transactions for account-takeover fraud "
        "when they are authorised. Written by `fds train`; the version names the content of "
        "`model.cbm` (its trees and settings, not CatBoost's random `model_guid`), and the "
        "consumer logs it with every decision.",
        "",
        "## Data",
        "",
        f"- File: `{training['data']}`, SHA-256 `{training['data_sha256']}`.",
        f"- Rows used: {training['rows']:,} of steps {training['steps'][0]}-"
        f"{training['steps'][1]}; {training['bad_rows_left_out']:,} bad rows left out.",
        f"- Sample weights: column `{weights}`; every figure below is weighted."
        if weights
        else "- Sample weights: none; every row counts once.",
        f"- Split by step: training on steps {train_steps[0]}-{train_steps[1]}, validation "
        f"(early stopping and the threshold) on steps {valid_steps[0]}-{valid_steps[1]}.",
        f"- Class imbalance: fraud rows up-weighted by {training['scale_pos_weight']:.1f} "
        "(`scale_pos_weight`, the square root of the weighted legit-to-fraud ratio): enough "
        "fraud for the trees to split on without flooding them; the cost-based threshold "
        "undoes the shift this causes in the probabilities.",
        f"- Seed: {options.get('seed')} (`fds train --seed`); the same data and seed give the "
        "same model, and so the same version.",
        "",
        "## Features",
        "",
        "Each is known when the transaction is authorised; none reads `newbalanceOrig`, "
        "`newbalanceDest`, `isFlaggedFraud` or `isFraud`, and a test holds that.",
        "",
        "| feature | importance | what it is and why it helps |",
        "|---|---:|---|",
        *(
            f"| `{name}` | {importance.get(name, 0.0):.1f} | {FEATURE_DOCS.get(name, '')} |"
            for name in training["feature_names"]
        ),
        "",
        "## Threshold",
        "",
        f"Flag (and freeze the sender) when the score is at least **{threshold:.4f}**.",
        "",
        f"Chosen on the validation steps by {training['threshold_rule']}. The expected cost "
        "is the weighted sum of the amounts of missed frauds plus the freeze cost for every "
        "honest account frozen, each validation score blurred so that one odd row cannot "
        "pull the threshold to the edge of the other class (see `ml/threshold.py`). At this "
        f"threshold it is {choice.get('expected_cost', 0.0):,.0f}; on the validation rows "
        f"themselves {choice.get('missed_fraud_amount', 0.0):,.0f} of fraud is missed and "
        f"{choice.get('frozen_honest_weight', 0.0):,.1f} honest accounts are frozen. Change "
        "the freeze cost with `fds train --freeze-cost`.",
        "",
        "## Metrics on the validation steps",
        "",
        *_metrics_table(metrics),
        "",
        "The threshold was chosen on these rows, so precision and recall here flatter the "
        "model; `fds evaluate --data CSV --steps LATER` measures it on steps it has not seen.",
        "",
        "## Known limitations",
        "",
        "- PaySim is a simulation, calibrated on one mobile-money operator's logs. Its fraud "
        "follows one scripted pattern (take over, transfer the whole balance to a mule, cash "
        "out); real fraudsters adapt, and a real operator's data would need retraining and "
        "new features.",
        "- The model leans on "
        + (
            ", ".join(f"`{name}` ({importance[name]:.0f})" for name in leaned_on)
            or "no one feature"
        )
        + ". A fraudster who leaves a little money behind, or a legit customer who empties "
        "an account into a fresh one, moves these patterns; the model has seen neither.",
        "- Frauds that do not drain the sender (about 2 % of PaySim fraud: cash-outs from "
        "accounts that show a balance of 0, transfers of part of a balance) look like legit "
        "rows on every feature here; they are the frauds it misses.",
        "- Per-account history is not used: PaySim senders almost never repeat.",
        "- The validation part is small, and its intervals come from its own steps: they "
        "cannot show an error it does not hold (a perfect validation gives 1.0-1.0). "
        "`fds evaluate` on other steps gives the figures to trust.",
        "",
        "## Plots",
        "",
        *(f"![{name}]({name})" for name in plots),
        "",
    ]
    return "\n".join(lines)


def _metrics_table(metrics: Mapping[str, Any]) -> list[str]:
    intervals = metrics.get("intervals", {})
    rows = [
        ("AUPRC", "auprc"),
        ("ROC-AUC", "roc_auc"),
        ("precision at the threshold", "precision"),
        ("recall at the threshold", "recall"),
        ("recall at precision 0.99", "recall_at_precision_99"),
        ("fraud amount caught", "fraud_amount_caught"),
        ("fraud amount missed", "fraud_amount_missed"),
    ]
    table = ["| metric | value | 90 % interval |", "|---|---:|---:|"]
    for label, key in rows:
        value = metrics.get(key)
        if value is None:
            shown = "n/a"
        elif key.startswith("fraud_amount"):
            shown = f"{value:,.0f}"
        else:
            shown = f"{value:.4f}"
        interval = intervals.get(key)
        bounds = f"{interval[0]:.4f}-{interval[1]:.4f}" if interval else ""
        table.append(f"| {label} | {shown} | {bounds} |")
    table.append(
        f"| rows (frauds) | {_count(metrics.get('rows'))} ({_count(metrics.get('frauds'))}) | |"
    )
    return table


def _count(value: object) -> str:
    """A count with thousands separators; anything else (a missing count) as it is."""
    return f"{value:,}" if isinstance(value, int) else str(value)
