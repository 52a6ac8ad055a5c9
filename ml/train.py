"""Training the fraud classifier with a split by time.

PaySim is a time series of hourly steps: a random split would let the model see the same hours
(and the same fraud bursts) in training and validation and overstate how well it does on the
future. Training takes the earlier steps, validation the later ones, and the decision threshold
is chosen on the validation part only, from the cost of its mistakes (``ml.threshold``). The
model directory gets the classifier, ``model.json``, the model card and its plots.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from catboost import CatBoostClassifier, Pool

from ml.card import write_model_card
from ml.data import PaysimData
from ml.errors import DataFormatError, ModelError
from ml.features import FEATURE_NAMES, build_features
from ml.metrics import bootstrap_intervals, classification_metrics
from ml.model import MODEL_FILE, FraudModel, ModelMetadata, model_version
from ml.plots import require_pyplot, write_plots
from ml.threshold import DEFAULT_FREEZE_COST, cost_threshold

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingOptions:
    """CatBoost and split settings. The defaults train in seconds on a 2-core machine.

    The trees are kept small because the consumer pays for their size: it builds a SHAP table
    of every leaf when it starts (so that a fraud's reasons cost about what scoring it does)
    and scores every batch through them. On the real PaySim sample, depth 4 at a learning rate
    of 0.3 stops after 110-140 trees with the same validation margins as 500 trees of depth 6
    (the highest legit score under 0.005, the lowest fraud score above 0.94), in a sixteenth
    of the leaves: the table builds in a fraction of a second instead of 1.4 s.
    """

    #: Most trees; early stopping on the validation log-loss usually ends well before.
    iterations: int = 300
    depth: int = 4
    learning_rate: float = 0.3
    #: Share of rows (by step, the latest ones) held out for validation and the threshold.
    validation_share: float = 0.2
    seed: int = 7
    #: Cost of freezing one honest account, in the currency of the amounts (``ml.threshold``).
    freeze_cost: float = DEFAULT_FREEZE_COST


def split_step(steps: np.ndarray, validation_share: float) -> int:
    """The last training step: rows up to it train, later rows validate.

    Raises:
        DataFormatError: the rows span a single step, so there is no later part to validate on.
    """
    unique = np.unique(steps)
    if len(unique) < 2:
        raise DataFormatError(
            f"all rows are in step {unique[0]}: a split by time needs at least two steps"
        )
    cutoff = int(np.quantile(steps, 1.0 - validation_share, method="lower"))
    # Keep at least one step on each side.
    return min(max(cutoff, int(unique[0])), int(unique[-2]))


def train_model(
    data: PaysimData,
    out_dir: Path,
    *,
    options: TrainingOptions | None = None,
    source: str = "",
    weights_column: str | None = None,
) -> FraudModel:
    """Train, pick the threshold on the later steps, and write the model directory.

    Raises:
        DataFormatError: the rows cannot be split by time into two parts that each hold fraud
            and legit rows with a positive total weight.
        ModelError: ``out_dir`` (or a folder above it) is a file, not a directory, or the
            freeze cost is not a positive amount.
        PlottingUnavailableError: matplotlib, which the model card's plots need, is missing.
    """
    # Checked before fitting: training takes minutes on real data, and its result would be lost.
    _check_out_dir(out_dir)
    require_pyplot()
    options = options or TrainingOptions()
    if not (math.isfinite(options.freeze_cost) and options.freeze_cost > 0):
        raise ModelError(
            f"freeze cost {options.freeze_cost} is not a positive amount: give the cost of "
            "freezing one honest account, e.g. --freeze-cost 1000"
        )
    frame = data.frame
    labels = data.labels
    weights = data.weights if data.weights is not None else np.ones(len(frame))
    steps = frame["step"].to_numpy()

    cutoff = split_step(steps, options.validation_share)
    train_rows, valid_rows = steps <= cutoff, steps > cutoff
    for part, rows in (("training", train_rows), ("validation", valid_rows)):
        part_steps = f"steps {'<=' if part == 'training' else '>'} {cutoff}"
        if len(np.unique(labels[rows])) < 2:
            raise DataFormatError(
                f"the {part} part ({part_steps}) has no fraud or no legit row: give more steps "
                "or more fraud"
            )
        # Weights of zero leave a class out of training as surely as missing rows would, and
        # divide by zero in the fraud up-weighting below and in the metrics.
        for kind, label in (("fraud", 1), ("legit", 0)):
            if not float(weights[rows & (labels == label)].sum()) > 0.0:
                column = f" in column {weights_column!r}" if weights_column else ""
                raise DataFormatError(
                    f"the weights{column} give the {kind} rows of the {part} steps "
                    f"({part_steps}) no weight: give them positive weights or choose another "
                    "weights column"
                )
    features = build_features(frame)

    # The real fraud rate is about 1 in 800. Up-weighting fraud by the square root of the
    # imbalance gives the trees enough fraud to split on without flooding them; the threshold
    # chosen afterwards undoes the shift this causes in the probabilities. Without it, trained
    # on the real sample's steps 1-240, the validation AUPRC of steps 241-300 fell from 1.0 to
    # 0.997: the weighted legit rows drown the few frauds that do not drain their sender.
    fraud_weight = float(weights[train_rows & (labels == 1)].sum())
    legit_weight = float(weights[train_rows & (labels == 0)].sum())
    scale_pos_weight = math.sqrt(legit_weight / fraud_weight)

    classifier = CatBoostClassifier(
        iterations=options.iterations,
        depth=options.depth,
        learning_rate=options.learning_rate,
        loss_function="Logloss",
        # Early stopping watches the validation log-loss, not PRAUC: on PaySim the PRAUC of the
        # validation steps reaches 1.0 within a few dozen trees and then cannot improve, so
        # stopping on it keeps a model too young to have learnt the rare patterns (the
        # zero-amount cash-outs score like payments), while log-loss keeps rewarding a wider
        # margin between the classes.
        eval_metric="Logloss",
        scale_pos_weight=scale_pos_weight,
        random_seed=options.seed,
        use_best_model=True,
        early_stopping_rounds=100,
        allow_writing_files=False,
        verbose=False,
    )
    names = list(FEATURE_NAMES)
    classifier.fit(
        Pool(
            features[train_rows],
            labels[train_rows],
            weight=weights[train_rows],
            feature_names=names,
        ),
        eval_set=Pool(
            features[valid_rows],
            labels[valid_rows],
            weight=weights[valid_rows],
            feature_names=names,
        ),
    )

    provisional = FraudModel(classifier, ModelMetadata("unsaved", names, 0.5))
    valid_labels, valid_weights = labels[valid_rows], weights[valid_rows]
    valid_amounts = frame["amount"].to_numpy(dtype=np.float64)[valid_rows]
    valid_scores = provisional.score_features(features[valid_rows])
    choice = cost_threshold(
        valid_labels, valid_scores, valid_amounts, valid_weights, options.freeze_cost
    )
    threshold = choice.threshold
    metrics = classification_metrics(
        valid_labels, valid_scores, threshold, valid_weights, valid_amounts
    )
    metrics["intervals"] = bootstrap_intervals(
        valid_labels, valid_scores, threshold, steps[valid_rows], valid_weights
    )
    importance = dict(
        zip(names, (float(v) for v in classifier.get_feature_importance()), strict=True)
    )

    training: dict[str, Any] = {
        "data": source,
        "data_sha256": data.fingerprint,
        "weights_column": weights_column,
        "rows": len(frame),
        "bad_rows_left_out": data.bad_row_count,
        "steps": [int(steps.min()), int(steps.max())],
        "train_steps": [int(steps.min()), cutoff],
        "validation_steps": [cutoff + 1, int(steps.max())],
        "feature_names": names,
        "threshold_rule": choice.rule,
        "threshold_choice": asdict(choice),
        "scale_pos_weight": scale_pos_weight,
        "best_iteration": int(classifier.get_best_iteration() or 0),
        "feature_importance": importance,
        "options": asdict(options),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    classifier.save_model(str(out_dir / MODEL_FILE))
    metadata = ModelMetadata(
        version=model_version(out_dir / MODEL_FILE),
        feature_names=names,
        threshold=threshold,
        metrics={"validation": metrics},
        training=training,
    )
    model = FraudModel(classifier, metadata)
    model.save(out_dir)
    plots = write_plots(out_dir, valid_labels, valid_scores, valid_weights, threshold, importance)
    write_model_card(
        out_dir,
        version=model.version,
        threshold=threshold,
        metrics=metrics,
        training=training,
        plots=plots,
    )
    logger.info(
        "model %s written to %s: validation AUPRC %.4f, precision %.4f, recall %.4f at %.4f",
        model.version,
        out_dir,
        metrics["auprc"],
        metrics["precision"],
        metrics["recall"],
        threshold,
    )
    return model


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an output path that is, or lies under, a file: the model could not be written."""
    for folder in (out_dir, *out_dir.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "" if folder == out_dir else f" lies under {folder}, which"
                raise ModelError(
                    f"--out {out_dir}{where} is a file, not a directory: choose a directory path"
                )
            return
