"""Tests for the weighted classification metrics (``ml.metrics``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ml.metrics import classification_metrics

LABELS = np.array([0, 0, 0, 1, 1])
SCORES = np.array([0.1, 0.2, 0.85, 0.8, 0.9])


def test_classification_metrics_weighted_both_classes_are_ranked() -> None:
    report = classification_metrics(LABELS, SCORES, 0.5, np.array([1.0, 1.0, 2.0, 1.0, 1.0]))

    assert report["auprc"] is not None and 0.0 < report["auprc"] < 1.0, f"report {report}"
    # Fraud 0.9 outranks all 4 units of legit weight, fraud 0.8 only the 2 below it
    assert report["roc_auc"] == pytest.approx(6 / 8), f"report {report}"
    assert report["precision"] == pytest.approx(2 / 4) and report["recall"] == 1.0


@pytest.mark.parametrize(
    ("weights", "recall"),
    [
        ([1.0, 1.0, 1.0, 0.0, 0.0], None),
        ([0.0, 0.0, 0.0, 1.0, 1.0], 1.0),
        ([0.0, 0.0, 0.0, 0.0, 0.0], None),
    ],
    ids=["fraud-without-weight", "legit-without-weight", "no-weight-at-all"],
)
def test_classification_metrics_class_without_weight_has_no_ranking_metrics(
    weights: list[float], recall: float | None
) -> None:
    # Given rows of both labels, but one class (or every row) weighted zero
    with warnings.catch_warnings():
        # sklearn only warns before returning NaN or a meaningless 0: make that a failure
        warnings.simplefilter("error")

        # When the metrics are computed
        report = classification_metrics(LABELS, SCORES, 0.5, np.array(weights))

    # Then AUPRC and ROC-AUC are absent rather than NaN, 0 or a crash
    assert report["auprc"] is None and report["roc_auc"] is None, f"report {report}"
    assert report["recall"] == recall, f"report {report}"
    assert report["rows"] == 5 and report["frauds"] == 2
