"""Tests for the weighted classification metrics (``ml.metrics``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ml.metrics import bootstrap_intervals, classification_metrics, recall_at_precision

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


def test_classification_metrics_recall_at_precision_and_amounts() -> None:
    # Given two frauds (amounts 100 and 40) and three legit rows, the fraud at 0.8 below a legit
    amounts = np.array([5.0, 5.0, 5.0, 100.0, 40.0])

    report = classification_metrics(LABELS, SCORES, 0.88, amounts=amounts)

    # Then only the fraud at 0.9 clears precision 0.99, and only it is caught at 0.88
    assert report["recall_at_precision_99"] == pytest.approx(0.5), f"report {report}"
    assert report["fraud_amount_caught"] == pytest.approx(40.0), f"report {report}"
    assert report["fraud_amount_missed"] == pytest.approx(100.0), f"report {report}"


def test_classification_metrics_amounts_are_weighted() -> None:
    amounts = np.array([5.0, 5.0, 5.0, 100.0, 40.0])
    weights = np.array([1.0, 1.0, 1.0, 2.0, 3.0])

    report = classification_metrics(LABELS, SCORES, 0.5, weights, amounts)

    assert report["fraud_amount_caught"] == pytest.approx(2 * 100.0 + 3 * 40.0)
    assert report["fraud_amount_missed"] == 0.0


def test_recall_at_precision_unreachable_is_zero() -> None:
    # Given a legit row that outranks every fraud: no threshold has precision 0.99
    assert recall_at_precision(np.array([1, 0, 1]), np.array([0.2, 0.9, 0.3])) == 0.0


def test_bootstrap_intervals_are_seeded_and_hold_the_point_figure() -> None:
    # Given 40 steps of noisy scores
    rng = np.random.default_rng(1)
    steps = np.repeat(np.arange(40), 50)
    labels = (rng.random(len(steps)) < 0.1).astype(int)
    scores = np.clip(labels * 0.6 + rng.normal(0.2, 0.2, len(steps)), 0, 1)

    # When the intervals are computed twice with the same seed, and once with another
    first = bootstrap_intervals(labels, scores, 0.5, steps, resamples=100)
    again = bootstrap_intervals(labels, scores, 0.5, steps, resamples=100)
    other = bootstrap_intervals(labels, scores, 0.5, steps, resamples=100, seed=2)

    # Then the seed fixes them, and each is a real interval around the figure on all rows
    assert first == again and first != other
    point = classification_metrics(labels, scores, 0.5)
    for name in ("auprc", "recall"):
        low, high = first[name]  # type: ignore[misc]
        assert low < high, f"{name} interval {first[name]} is empty"
        assert low <= point[name] <= high, f"{name} {point[name]} outside {first[name]}"


def test_bootstrap_intervals_without_fraud_are_none() -> None:
    labels = np.zeros(20, dtype=int)

    intervals = bootstrap_intervals(labels, np.linspace(0, 1, 20), 0.5, np.arange(20))

    assert intervals == {"auprc": None, "recall": None}
