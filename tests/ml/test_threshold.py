"""Tests for choosing the threshold from the cost of its mistakes (``ml.threshold``)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.threshold import cost_threshold


def test_cost_threshold_separated_classes_sits_in_the_middle_of_the_gap() -> None:
    # Given legit rows up to 0.01 and frauds from 0.9
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.001, 0.005, 0.01, 0.9, 0.95])

    choice = cost_threshold(labels, scores, np.full(5, 1000.0), freeze_cost=50.0)

    # Then nothing is missed or frozen, and the threshold is halfway in log-odds (0.0826)
    assert choice.cost == 0.0
    assert choice.threshold == pytest.approx(1 / (1 + np.sqrt(0.99 * 0.1 / (0.01 * 0.9))))
    assert 0.01 < choice.threshold < 0.9


def test_cost_threshold_misses_a_small_fraud_rather_than_freeze_an_honest_account() -> None:
    # Given a fraud of 10 scoring below an honest account, and a fraud of 5000 above it
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.1, 0.3, 0.5, 0.9])
    amounts = np.array([0.0, 10.0, 0.0, 5000.0])

    # When freezing an account costs 100, Then the small fraud is let through
    cheap = cost_threshold(labels, scores, amounts, freeze_cost=100.0)
    assert 0.5 < cheap.threshold < 0.9, f"threshold {cheap.threshold}"
    assert cheap.cost == pytest.approx(10.0) and cheap.missed_fraud_amount == 10.0

    # And when freezing costs 1, flagging it and the honest account above it is cheaper
    dear = cost_threshold(labels, scores, amounts, freeze_cost=1.0)
    assert 0.1 < dear.threshold < 0.3, f"threshold {dear.threshold}"
    assert dear.cost == pytest.approx(1.0) and dear.frozen_honest_weight == 1.0


def test_cost_threshold_weights_scale_the_cost_of_freezing() -> None:
    # Given one legit row that stands for 200 customers, above a fraud of 150
    labels = np.array([1, 0, 1])
    scores = np.array([0.2, 0.4, 0.8])
    amounts = np.array([150.0, 0.0, 900.0])

    unweighted = cost_threshold(labels, scores, amounts, freeze_cost=1.0)
    weighted = cost_threshold(labels, scores, amounts, np.array([1.0, 200.0, 1.0]), 1.0)

    assert unweighted.threshold < 0.2, "freezing 1 (cost 1) beats missing 150"
    assert 0.4 < weighted.threshold < 0.8, "freezing 200 (cost 200) loses to missing 150"


def test_cost_threshold_equal_costs_take_the_widest_gap() -> None:
    # Given a fraud of amount 0 just above the legit rows, costing nothing either way
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.001, 0.005, 0.0055, 0.9, 0.95])
    amounts = np.array([0.0, 0.0, 0.0, 500.0, 700.0])

    choice = cost_threshold(labels, scores, amounts)

    # Then the threshold is in the wide gap below 0.9, not the narrow one below 0.0055
    assert 0.0055 < choice.threshold < 0.9, f"threshold {choice.threshold}"


@pytest.mark.parametrize("freeze_cost", [0.0, -1.0, float("nan"), float("inf")])
def test_cost_threshold_freeze_cost_must_be_positive(freeze_cost: float) -> None:
    with pytest.raises(ValueError, match="freeze cost"):
        cost_threshold(np.array([0, 1]), np.array([0.1, 0.9]), np.ones(2), freeze_cost=freeze_cost)


def test_cost_threshold_stays_inside_zero_one() -> None:
    # Given scores at the very ends
    choice = cost_threshold(np.array([0, 1]), np.array([0.0, 1.0]), np.ones(2))

    assert 0.0 < choice.threshold < 1.0
