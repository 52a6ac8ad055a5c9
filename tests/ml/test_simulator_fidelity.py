"""Tests for the fidelity figures of ``ml.simulator.fidelity``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.simulator import simulate_frames
from ml.simulator.errors import FidelityError
from ml.simulator.fidelity import KS_MAX, Tally, compare, tally


def simulated(seed: int, rows: int = 500_000) -> pd.DataFrame:
    return pd.concat(
        simulate_frames(seed=seed, rows=rows, fraud_rate=0.02, rows_per_step=800.0),
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return simulated(seed=100)


@pytest.fixture(scope="module")
def other_run() -> Tally:
    return tally([simulated(seed=200)])


def figure(report, name: str):  # type: ignore[no-untyped-def]
    return next(f for f in report.figures if f.name == name)


def test_compare_two_runs_of_the_simulator_passes(
    reference: pd.DataFrame, other_run: Tally
) -> None:
    report = compare(other_run, tally([reference]))

    assert report.passed, f"failures: {report.failures}"
    assert figure(report, "KS distance of log-amount, PAYMENT").simulated < KS_MAX / 2


def test_compare_fails_when_amounts_of_a_type_are_distorted(
    reference: pd.DataFrame, other_run: Tally
) -> None:
    # Given real rows whose TRANSFER amounts are three times what they should be
    distorted = reference.copy()
    transfers = distorted["type"] == "TRANSFER"
    distorted.loc[transfers, "amount"] = distorted.loc[transfers, "amount"] * 3

    report = compare(other_run, tally([distorted]))

    assert not report.passed
    failed = {f.name for f in report.failures}
    assert "KS distance of log-amount, TRANSFER" in failed, failed
    assert figure(report, "KS distance of log-amount, CASH_IN").passed


def test_compare_fails_when_type_shares_and_fraud_rate_differ(
    reference: pd.DataFrame, other_run: Tally
) -> None:
    # Given real rows with most payments left out, and the fraud rows given twice the weight
    keep = (reference["type"] != "PAYMENT") | (np.arange(len(reference)) % 4 == 0)
    thinned = reference[keep]
    weights = np.where(thinned["isFraud"] == 1, 2.0, 1.0)
    real = Tally()
    real.add(thinned, weights)

    failed = {f.name for f in compare(other_run, real).failures}

    assert {"share of PAYMENT", "share of CASH_OUT", "fraud rate"} <= failed, failed


def test_compare_fails_when_legit_rows_drain_the_sender_or_merchants_hold_money(
    reference: pd.DataFrame, other_run: Tally
) -> None:
    # Given "simulated" rows where some legit rows move the whole balance and merchants keep one
    broken = simulated(seed=300)
    legit = broken.index[broken["isFraud"] == 0][:500]
    broken.loc[legit, "oldbalanceOrg"] = broken.loc[legit, "amount"]
    merchants = broken.index[broken["nameDest"].str.startswith("M")][:10]
    broken.loc[merchants, "newbalanceDest"] = 5.0

    report = compare(tally([broken]), tally([reference]))

    failed = {f.name for f in report.failures}
    assert failed == {"legit rows: amount = balance before", "merchant rows with a balance"}
    share = 100 * 500 / int((broken["isFraud"] == 0).sum())
    assert figure(report, "legit rows: amount = balance before").simulated == pytest.approx(share)
    assert figure(report, "merchant rows with a balance").simulated == 10


def test_tally_weights_rows(reference: pd.DataFrame) -> None:
    # Given the same rows counted once plain, once with every fraud row weighing 10
    plain = tally([reference])
    weighted = Tally()
    weighted.add(reference, np.where(reference["isFraud"] == 1, 10.0, 1.0))

    # Then the weighted fraud total is ten times the plain one, the legit total unchanged
    assert weighted.fraud_total == pytest.approx(10 * plain.fraud_total)
    assert weighted.weight - weighted.fraud_total == pytest.approx(plain.weight - plain.fraud_total)


def test_tally_is_the_same_frame_by_frame_as_at_once(reference: pd.DataFrame) -> None:
    whole = tally([reference])
    parts = tally([reference.iloc[:1000], reference.iloc[1000:50_000], reference.iloc[50_000:]])

    np.testing.assert_allclose(parts.amounts, whole.amounts)
    np.testing.assert_allclose(parts.hours, whole.hours)
    assert parts.rows == whole.rows and parts.last_step == whole.last_step


def test_compare_without_real_fraud_says_so(reference: pd.DataFrame, other_run: Tally) -> None:
    legit_only = tally([reference[reference["isFraud"] == 0]])

    with pytest.raises(FidelityError, match="no fraud"):
        compare(other_run, legit_only)
