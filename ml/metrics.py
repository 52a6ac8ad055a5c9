"""Classification metrics, weighted when sample weights are given.

The real PaySim sample under-samples legit rows and carries weights that restore the true fraud
rate; unweighted precision on such a sample would look far better than it is in production.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

logger = logging.getLogger(__name__)

#: The precision at which ``recall_at_precision`` is reported: one false alarm per hundred.
TARGET_PRECISION: Final = 0.99


def classification_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    weights: np.ndarray | None = None,
    amounts: np.ndarray | None = None,
) -> dict[str, Any]:
    """AUPRC, ROC-AUC, precision and recall at ``threshold``, recall at precision 0.99, and,
    when ``amounts`` are given, the fraud amount caught and missed.

    Amounts are weighted like everything else, so with population weights they estimate the
    money of the whole population (fraud rows weigh 1 in the real PaySim sample).
    """
    weights = np.ones(len(labels)) if weights is None else weights
    flagged = scores >= threshold
    fraud = labels == 1
    true_positive = float(weights[flagged & fraud].sum())
    flagged_weight = float(weights[flagged].sum())
    fraud_weight = float(weights[fraud].sum())
    # The ranking metrics need weight on both classes: sklearn leaves zero-weight rows out and
    # then returns NaN, a meaningless 0, or fails with an IndexError when no row is left.
    both_classes = fraud_weight > 0.0 and float(weights[~fraud].sum()) > 0.0
    report: dict[str, Any] = {
        "rows": len(labels),
        "frauds": int(fraud.sum()),
        "auprc": float(average_precision_score(labels, scores, sample_weight=weights))
        if both_classes
        else None,
        "roc_auc": float(roc_auc_score(labels, scores, sample_weight=weights))
        if both_classes
        else None,
        "precision": true_positive / flagged_weight if flagged_weight else None,
        "recall": true_positive / fraud_weight if fraud_weight else None,
        "recall_at_precision_99": recall_at_precision(labels, scores, weights)
        if both_classes
        else None,
        "threshold": threshold,
    }
    if amounts is not None:
        money = amounts * weights
        report["fraud_amount_caught"] = float(money[flagged & fraud].sum())
        report["fraud_amount_missed"] = float(money[~flagged & fraud].sum())
    return report


def recall_at_precision(
    labels: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray | None = None,
    precision: float = TARGET_PRECISION,
) -> float:
    """The highest (weighted) recall of any threshold whose precision is at least ``precision``;
    0 when no threshold reaches it."""
    precisions, recalls, _ = precision_recall_curve(labels, scores, sample_weight=weights)
    # The last pair is the "flag nothing" end (precision 1, recall 0): it reaches any precision.
    reached = precisions[:-1] >= precision
    return float(recalls[:-1][reached].max()) if reached.any() else 0.0


#: Bootstrap settings: 200 resamples give the 5th and 95th percentiles to about a point of
#: percentile and run in a few seconds on 10,000 rows.
BOOTSTRAP_RESAMPLES: Final = 200
#: The fewest resamples a 90 % interval is reported from: its bounds are the 5th and 95th
#: percentiles, so with fewer than 100 each rests on a handful of resamples (with one, both are
#: that resample's figure, an interval that need not even hold the estimate).
MIN_BOOTSTRAP_RESAMPLES: Final = 100
BOOTSTRAP_SEED: Final = 20_170_439
INTERVAL_LEVEL: Final = 0.90


def bootstrap_intervals(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    steps: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = INTERVAL_LEVEL,
) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals of AUPRC and of recall at ``threshold``.

    Whole steps are resampled, not rows: the frauds of one step belong together (a taken-over
    account's chunks and its cash-out), so resampling rows would treat them as independent and
    make the intervals too narrow. With few steps the intervals are correspondingly crude; with
    one step they collapse to the point figure. A resample without weighted rows of both classes
    is drawn again rather than counted.

    Returns:
        ``{"auprc": [low, high], "recall": [low, high]}``; a metric is ``None`` when no resample
        could measure it (no weighted fraud at all) or ``resamples`` is 0.
    """
    weights = np.ones(len(labels)) if weights is None else weights
    distinct, group = np.unique(steps, return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(len(distinct) + 1))
    rows_of = [order[starts[i] : starts[i + 1]] for i in range(len(distinct))]
    rng = np.random.default_rng(seed)
    flagged = scores >= threshold
    fraud = labels == 1

    auprcs: list[float] = []
    recalls: list[float] = []
    attempts = 0
    while len(auprcs) < resamples and attempts < 5 * resamples:
        attempts += 1
        rows = np.concatenate([rows_of[i] for i in rng.integers(0, len(distinct), len(distinct))])
        w, f = weights[rows], fraud[rows]
        fraud_weight = float(w[f].sum())
        if not (fraud_weight > 0 and float(w[~f].sum()) > 0):
            continue
        auprcs.append(float(average_precision_score(f, scores[rows], sample_weight=w)))
        recalls.append(float(w[f & flagged[rows]].sum()) / fraud_weight)
    if 0 < len(auprcs) < resamples:
        logger.warning(
            "bootstrap: only %d of %d resamples held both classes", len(auprcs), resamples
        )

    tail = (1 - level) / 2 * 100
    return {
        name: [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]
        if values
        else None
        for name, values in (("auprc", auprcs), ("recall", recalls))
    }
