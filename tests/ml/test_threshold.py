"""Tests for choosing the threshold from the cost of its mistakes (``ml.threshold``)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.threshold import cost_threshold


def test_cost_threshold_separated_classes_sits_well_inside_the_gap() -> None:
    # Given legit rows up to 0.001 and frauds from 0.99, far apart in log-odds
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.0001, 0.0005, 0.001, 0.99, 0.995])

    choice = cost_threshold(labels, scores, np.full(5, 1000.0), freeze_cost=1000.0)

    # Then nothing is missed or frozen on these rows, with a margin to both classes
    assert choice.missed_fraud_amount == 0.0 and choice.frozen_honest_weight == 0.0
    assert 0.01 < choice.threshold < 0.9, f"threshold {choice.threshold}"


def test_cost_threshold_misses_a_small_fraud_rather_than_freeze_an_honest_account() -> None:
    # Given a fraud of 10 scoring below an honest account, and a fraud of 5000 above it
    labels = np.array([0, 1, 0, 1])
    scores = np.array([1e-5, 0.001, 0.1, 0.999])
    amounts = np.array([0.0, 10.0, 0.0, 5000.0])

    # When freezing an account costs 100, Then the small fraud is let through
    cheap = cost_threshold(labels, scores, amounts, freeze_cost=100.0)
    assert 0.1 < cheap.threshold < 0.999, f"threshold {cheap.threshold}"
    assert cheap.missed_fraud_amount == 10.0 and cheap.frozen_honest_weight == 0.0

    # And when freezing costs 0.01, flagging it and the honest account above it is cheaper
    dear = cost_threshold(labels, scores, amounts, freeze_cost=0.01)
    assert 1e-5 < dear.threshold < 0.001, f"threshold {dear.threshold}"
    assert dear.missed_fraud_amount == 0.0 and dear.frozen_honest_weight == 1.0


def test_cost_threshold_weights_scale_the_cost_of_freezing() -> None:
    # Given one legit row between a fraud of 150 and a fraud of 900
    labels = np.array([1, 0, 1])
    scores = np.array([0.0001, 0.01, 0.999])
    amounts = np.array([150.0, 0.0, 900.0])

    # When the legit row counts once, and when it stands for 200 customers
    once = cost_threshold(labels, scores, amounts, freeze_cost=1.0)
    many = cost_threshold(labels, scores, amounts, np.array([1.0, 200.0, 1.0]), 1.0)

    # Then freezing one (cost 1) beats missing 150, and freezing 200 (cost 200) does not
    assert once.threshold < 0.0001, f"threshold {once.threshold}"
    assert 0.01 < many.threshold < 0.999, f"threshold {many.threshold}"


def test_cost_threshold_a_lone_fraud_at_the_edge_of_the_legit_rows_does_not_pull_it_down() -> None:
    # Given 50 legit rows at 0.005, each standing for 187 customers, one fraud of 300,000 just
    # above them at 0.009, and 100 frauds of 1,000,000 at 0.97
    labels = np.array([0] * 50 + [1] + [1] * 100)
    scores = np.array([0.005] * 50 + [0.009] + [0.97] * 100)
    amounts = np.array([0.0] * 50 + [300_000.0] + [1_000_000.0] * 100)
    weights = np.array([187.0] * 50 + [1.0] * 101)

    choice = cost_threshold(labels, scores, amounts, weights, freeze_cost=1000.0)

    # Then the threshold keeps its distance from the legit rows and lets that fraud by: counted
    # without the blur, flagging it would look free, and the next legit rows would be frozen
    assert 0.05 < choice.threshold < 0.9, f"threshold {choice.threshold}"
    assert choice.missed_fraud_amount == 300_000.0


def test_cost_threshold_a_zero_amount_fraud_pulls_on_nothing() -> None:
    # Given a fraud of amount 0 just above the legit rows, costing nothing to miss
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.0001, 0.0005, 0.0006, 0.99, 0.995])
    amounts = np.array([0.0, 0.0, 0.0, 500.0, 700.0])

    with_it = cost_threshold(labels, scores, amounts)
    without = cost_threshold(labels[[0, 1, 3, 4]], scores[[0, 1, 3, 4]], amounts[[0, 1, 3, 4]])

    assert with_it.threshold == pytest.approx(without.threshold)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
@pytest.mark.parametrize("name", ["freeze_cost", "score_noise"])
def test_cost_threshold_settings_must_be_positive(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name.replace("_", " ")):
        cost_threshold(np.array([0, 1]), np.array([0.1, 0.9]), np.ones(2), **{name: value})


def test_cost_threshold_stays_inside_zero_one() -> None:
    # Given scores at the very ends
    choice = cost_threshold(np.array([0, 1]), np.array([0.0, 1.0]), np.ones(2))

    assert 0.0 < choice.threshold < 1.0
