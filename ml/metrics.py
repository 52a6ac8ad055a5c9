"""Classification metrics, weighted when sample weights are given.

The real PaySim sample under-samples legit rows and carries weights that restore the true fraud
rate; unweighted precision on such a sample would look far better than it is in production.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> dict[str, Any]:
    """AUPRC, ROC-AUC, and precision and recall at ``threshold``."""
    weights = np.ones(len(labels)) if weights is None else weights
    flagged = scores >= threshold
    fraud = labels == 1
    true_positive = float(weights[flagged & fraud].sum())
    flagged_weight = float(weights[flagged].sum())
    fraud_weight = float(weights[fraud].sum())
    # The ranking metrics need weight on both classes: sklearn leaves zero-weight rows out and
    # then returns NaN, a meaningless 0, or fails with an IndexError when no row is left.
    both_classes = fraud_weight > 0.0 and float(weights[~fraud].sum()) > 0.0
    return {
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
        "threshold": threshold,
    }


def best_f1_threshold(
    labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """The score threshold with the highest (weighted) F1 on these rows.

    F1 weighs a missed fraud and a frozen honest account alike, per weighted row; with the
    population weights of the real sample, that means a false alarm costs as much as a miss.
    """
    precision, recall, thresholds = precision_recall_curve(labels, scores, sample_weight=weights)
    # The last precision/recall pair has no threshold (it is the "flag nothing" end).
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    return float(np.clip(thresholds[best], 1e-6, 1 - 1e-6))
