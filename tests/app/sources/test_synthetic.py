"""Tests for the seeded PaySim-like generator in ``app.sources.synthetic``."""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from itertools import islice, pairwise

import pytest

from app.sources.synthetic import FRAUD_CAP, TYPES, synthetic_transactions

COLUMNS = {
    "step": int,
    "type": str,
    "amount": float,
    "nameOrig": str,
    "oldbalanceOrg": float,
    "newbalanceOrig": float,
    "nameDest": str,
    "oldbalanceDest": float,
    "newbalanceDest": float,
    "isFraud": int,
    "isFlaggedFraud": int,
}
FLOAT_COLUMNS = [name for name, kind in COLUMNS.items() if kind is float]


def take(n: int, **kwargs: object) -> list[dict[str, object]]:
    return list(islice(synthetic_transactions(**kwargs), n))  # type: ignore[arg-type]


def takeover_indices(rows: list[dict[str, object]]) -> list[int]:
    """Indices of takeover TRANSFERs: a fraud TRANSFER whose mule cashes out on the next row."""
    return [
        i
        for i, (row, nxt) in enumerate(pairwise(rows))
        if row["isFraud"] == 1
        and row["type"] == "TRANSFER"
        and nxt["type"] == "CASH_OUT"
        and nxt["nameOrig"] == row["nameDest"]
    ]


def test_synthetic_transactions_same_seed_gives_same_rows() -> None:
    assert take(2_000, seed=7) == take(2_000, seed=7)


def test_synthetic_transactions_different_seeds_differ() -> None:
    assert take(2_000, seed=7) != take(2_000, seed=8)


def test_synthetic_transactions_rows_have_exactly_paysim_columns_and_types() -> None:
    for row in take(2_000, seed=1, fraud_rate=0.1):
        assert list(row) == list(COLUMNS)
        for name, kind in COLUMNS.items():
            assert type(row[name]) is kind, (name, row[name])
        assert row["type"] in TYPES
        assert re.fullmatch(r"C\d{9,10}", str(row["nameOrig"]))
        assert re.fullmatch(r"[CM]\d{9,10}", str(row["nameDest"]))
        for name in FLOAT_COLUMNS:
            value = row[name]
            assert isinstance(value, float) and value >= 0 and round(value, 2) == value
        assert row["isFraud"] in (0, 1)
        assert row["isFlaggedFraud"] == 0


def test_synthetic_transactions_steps_start_at_one_and_advance() -> None:
    steps = [int(row["step"]) for row in take(2_000, seed=2)]  # type: ignore[call-overload]
    assert steps[0] == 1
    assert steps == sorted(steps)
    assert len(set(steps)) >= 3


def test_synthetic_transactions_type_shares_near_paysim() -> None:
    counts = Counter(row["type"] for row in take(20_000, seed=3, fraud_rate=0.0))
    expected = {"CASH_OUT": 0.35, "PAYMENT": 0.34, "CASH_IN": 0.22, "TRANSFER": 0.084}
    for kind, share in expected.items():
        assert counts[kind] / 20_000 == pytest.approx(share, abs=0.02), kind
    assert 0.002 < counts["DEBIT"] / 20_000 < 0.015


def test_synthetic_transactions_transfers_larger_than_payments() -> None:
    rows = take(20_000, seed=4, fraud_rate=0.0)
    median = {
        kind: statistics.median(float(r["amount"]) for r in rows if r["type"] == kind)  # type: ignore[arg-type]
        for kind in ("TRANSFER", "PAYMENT")
    }
    assert median["TRANSFER"] > 5 * median["PAYMENT"]


def test_synthetic_transactions_fraud_event_share_near_fraud_rate() -> None:
    # Without retries, each takeover event is exactly two fraud rows and each legit event one row.
    rows = take(20_000, seed=5, fraud_rate=0.02, retry_after_block=0.0)
    takeovers = len(takeover_indices(rows))
    legit = sum(row["isFraud"] == 0 for row in rows)
    assert sum(row["isFraud"] == 1 for row in rows) in (2 * takeovers, 2 * takeovers + 1)
    assert 0.015 < takeovers / (takeovers + legit) < 0.025


def test_synthetic_transactions_zero_fraud_rate_emits_no_fraud() -> None:
    assert all(row["isFraud"] == 0 for row in take(20_000, seed=6, fraud_rate=0.0))


def test_synthetic_transactions_takeover_drains_balance_to_mule_then_cashes_out() -> None:
    rows = take(20_000, seed=9, fraud_rate=0.2, retry_after_block=0.0)
    indices = takeover_indices(rows)
    fraud_transfers = [r for r in rows if r["isFraud"] == 1 and r["type"] == "TRANSFER"]
    assert len(indices) > 1_000
    assert len(fraud_transfers) - len(indices) <= 1  # only a cut-off last takeover may differ
    for i in indices:
        transfer, cash_out = rows[i], rows[i + 1]
        old = float(transfer["oldbalanceOrg"])  # type: ignore[arg-type]
        # The whole balance, unless it exceeds the cap (rare; see the capping test).
        assert transfer["amount"] == min(old, FRAUD_CAP)
        left = 0.0 if old <= FRAUD_CAP else round(old - FRAUD_CAP, 2)
        assert transfer["newbalanceOrig"] == left
        assert transfer["oldbalanceDest"] == transfer["newbalanceDest"] == 0.0
        assert str(transfer["nameDest"]).startswith("C")
        assert cash_out["isFraud"] == 1 and cash_out["step"] == transfer["step"]
        assert cash_out["amount"] == cash_out["oldbalanceOrg"] == transfer["amount"]
        assert cash_out["newbalanceOrig"] == 0.0


def test_synthetic_transactions_fraud_transfer_capped_at_ten_million() -> None:
    rows = take(30_000, seed=10, fraud_rate=1.0, retry_after_block=0.0)
    capped = [r for r in rows if r["type"] == "TRANSFER" and r["oldbalanceOrg"] > FRAUD_CAP]  # type: ignore[operator]
    assert capped
    for row in capped:
        assert row["amount"] == FRAUD_CAP
        assert row["newbalanceOrig"] == round(float(row["oldbalanceOrg"]) - FRAUD_CAP, 2)  # type: ignore[arg-type]
    assert max(float(r["amount"]) for r in rows) <= FRAUD_CAP  # type: ignore[arg-type]


def test_synthetic_transactions_legit_rows_never_move_exactly_the_balance() -> None:
    legit = [r for r in take(20_000, seed=11) if r["isFraud"] == 0]
    assert all(r["amount"] != r["oldbalanceOrg"] for r in legit)


def test_synthetic_transactions_legit_sender_balances_follow_paysim_rules() -> None:
    legit = [r for r in take(20_000, seed=12, fraud_rate=0.0)]
    overdrawn = 0
    for r in legit:
        old, amount, new = (float(r[k]) for k in ("oldbalanceOrg", "amount", "newbalanceOrig"))  # type: ignore[arg-type]
        if r["type"] == "CASH_IN":
            assert new == pytest.approx(old + amount, abs=0.011)
        else:
            assert new == pytest.approx(max(old - amount, 0.0), abs=0.011)
            overdrawn += amount > old
    assert overdrawn > 100  # the balance is drawn independently, so it is often too small


def test_synthetic_transactions_payments_go_to_merchants_without_balances() -> None:
    rows = take(20_000, seed=13)
    payments = [r for r in rows if r["type"] == "PAYMENT"]
    assert len(payments) > 5_000
    for r in payments:
        assert str(r["nameDest"]).startswith("M")
        assert r["oldbalanceDest"] == r["newbalanceDest"] == 0.0
    assert all(str(r["nameDest"]).startswith("C") for r in rows if r["type"] != "PAYMENT")


def test_synthetic_transactions_retry_after_block_one_makes_victims_come_back() -> None:
    rows = take(20_000, seed=14, fraud_rate=0.05, retry_after_block=1.0)
    indices = [i for i in takeover_indices(rows) if i < len(rows) - 200]
    assert len(indices) > 500
    positions: dict[object, list[int]] = {}
    for j, row in enumerate(rows):
        positions.setdefault(row["nameOrig"], []).append(j)
    for i in indices:
        victim = rows[i]["nameOrig"]
        later = [j for j in positions[victim] if j > i]
        assert later, victim
        retry = rows[later[0]]
        assert 5 <= later[0] - i <= 100
        assert retry["isFraud"] == 1 and retry["type"] in ("TRANSFER", "CASH_OUT")
        assert float(retry["amount"]) > 0  # type: ignore[arg-type]


def test_synthetic_transactions_retry_after_block_zero_never_reuses_a_victim() -> None:
    rows = take(20_000, seed=14, fraud_rate=0.05, retry_after_block=0.0)
    victims = {rows[i]["nameOrig"] for i in takeover_indices(rows)}
    assert len(victims) > 500
    senders = Counter(row["nameOrig"] for row in rows)
    assert all(senders[victim] == 1 for victim in victims)


@pytest.mark.parametrize("name", ["fraud_rate", "retry_after_block"])
@pytest.mark.parametrize("value", [-0.01, 1.5, math.nan])
def test_synthetic_transactions_invalid_probability_raises_at_call(name: str, value: float) -> None:
    # Raised by the call itself, before any next(), so a misconfigured source fails at startup.
    with pytest.raises(ValueError, match=rf"{name} must be within \[0, 1\], got {value}"):
        synthetic_transactions(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_synthetic_transactions_probability_bounds_are_accepted(value: float) -> None:
    assert len(take(100, seed=0, fraud_rate=value, retry_after_block=value)) == 100


def test_synthetic_transactions_retry_queue_stays_bounded_over_200k_rows() -> None:
    # Many frauds, all retried: an unbounded queue would hold ~28,000 accounts by the end. Each
    # retry is due at most 50 rows after its takeover, so only a few dozen can be pending.
    rows = synthetic_transactions(seed=15, fraud_rate=0.2, retry_after_block=1.0)
    sizes = []
    for n, _ in enumerate(islice(rows, 200_000)):
        if n % 997 == 0:
            sizes.append(len(rows.gi_frame.f_locals["pending"]))  # type: ignore[attr-defined]
    assert max(sizes) <= 60
    assert sum(sizes) > 0  # the probe does see the queue
