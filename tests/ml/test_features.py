"""Tests for the one feature builder (``ml.features``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.errors import UnknownTransactionTypeError
from ml.features import FEATURE_NAMES, INPUT_COLUMNS, build_features
from ml.schema import POST_TRANSACTION_COLUMNS, TRANSACTION_TYPES


def frame_of(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def feature(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, FEATURE_NAMES.index(name)]


def test_feature_names_order_and_length() -> None:
    assert FEATURE_NAMES == (
        "type_CASH_IN",
        "type_CASH_OUT",
        "type_DEBIT",
        "type_PAYMENT",
        "type_TRANSFER",
        "amount",
        "oldbalance_orig",
        "oldbalance_dest",
        "drains_sender",
        "amount_over_balance",
        "balance_left",
        "dest_empty",
        "dest_is_merchant",
        "hour_of_day",
    )
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 14


def test_build_features_one_row_per_transaction_in_feature_order(make_row) -> None:
    # Given a CASH_OUT of 300 from a balance of 1000 to an empty customer at step 30
    row = make_row(
        type="CASH_OUT",
        amount=300.0,
        oldbalanceOrg=1000.0,
        oldbalanceDest=0.0,
        nameDest="C77",
        step=30,
    )

    # When its features are built
    matrix = build_features(frame_of(row))

    # Then each column holds what its name says
    assert matrix.shape == (1, len(FEATURE_NAMES))
    assert matrix.dtype == np.float64
    expected = {
        "type_CASH_IN": 0.0,
        "type_CASH_OUT": 1.0,
        "type_DEBIT": 0.0,
        "type_PAYMENT": 0.0,
        "type_TRANSFER": 0.0,
        "amount": 300.0,
        "oldbalance_orig": 1000.0,
        "oldbalance_dest": 0.0,
        "drains_sender": 0.0,
        "amount_over_balance": 0.3,
        "balance_left": 700.0,
        "dest_empty": 1.0,
        "dest_is_merchant": 0.0,
        "hour_of_day": 6.0,
    }
    actual = dict(zip(FEATURE_NAMES, matrix[0].tolist(), strict=True))
    assert actual == pytest.approx(expected), f"features of {row}"


@pytest.mark.parametrize("column", [*POST_TRANSACTION_COLUMNS, "isFraud"])
def test_build_features_ignores_columns_written_after_the_transaction(
    make_fraud_row, make_row, column: str
) -> None:
    # Given a fraud row and a legit row
    rows = frame_of(make_fraud_row(), make_row())
    before = build_features(rows)

    # When a column known only after the transaction (or the label) is changed
    changed = rows.copy()
    changed[column] = [999_999, 123_456] if column.startswith("new") else [0, 1]

    # Then the features are exactly the same
    np.testing.assert_array_equal(
        build_features(changed), before, err_msg=f"changing {column} changed the features"
    )


def test_build_features_works_without_the_leaking_columns(make_fraud_row) -> None:
    # Given a mapping that holds only the input columns
    row = make_fraud_row()
    columns = {name: [row[name]] for name in INPUT_COLUMNS}
    assert not set(columns) & {*POST_TRANSACTION_COLUMNS, "isFraud"}

    # When / Then the features are those of the full row
    np.testing.assert_array_equal(build_features(columns), build_features(frame_of(row)))


@pytest.mark.parametrize("kind", ["CASH-OUT", "transfer", "WIRE", ""])
def test_build_features_unknown_type_raises(make_row, kind: str) -> None:
    with pytest.raises(UnknownTransactionTypeError, match=kind or "''"):
        build_features(frame_of(make_row(), make_row(type=kind)))


def test_unknown_transaction_type_error_is_a_value_error() -> None:
    assert issubclass(UnknownTransactionTypeError, ValueError)


@pytest.mark.parametrize(
    ("amount", "balance", "drains"),
    [
        (181.0, 181.0, 1.0),
        (181.0, 181.004, 1.0),
        (181.0, 181.01, 0.0),
        (100.0, 181.0, 0.0),
        (0.0, 0.0, 0.0),
    ],
)
def test_build_features_drains_sender_when_amount_is_the_whole_balance(
    make_row, amount: float, balance: float, drains: float
) -> None:
    row = make_row(type="TRANSFER", amount=amount, oldbalanceOrg=balance)

    matrix = build_features(frame_of(row))

    assert feature(matrix, "drains_sender")[0] == drains, (
        f"amount {amount} from balance {balance}: drains_sender should be {drains}"
    )


def test_build_features_amount_over_balance_is_finite_for_empty_senders(make_row) -> None:
    # Given a sender with no balance paying something, and one paying nothing
    rows = frame_of(
        make_row(amount=50.0, oldbalanceOrg=0.0), make_row(amount=0.0, oldbalanceOrg=0.0)
    )

    # When
    ratio = feature(build_features(rows), "amount_over_balance")

    # Then the matrix stays finite: a large stand-in, and 1 for nothing out of nothing
    assert np.isfinite(ratio).all(), f"ratio {ratio}"
    assert ratio.tolist() == [1e6, 1.0]


def test_build_features_one_hot_matches_each_type(make_row) -> None:
    rows = frame_of(*(make_row(type=kind) for kind in TRANSACTION_TYPES))

    one_hot = build_features(rows)[:, : len(TRANSACTION_TYPES)]

    np.testing.assert_array_equal(one_hot, np.eye(len(TRANSACTION_TYPES)))


def test_build_features_merchant_and_hour(make_row) -> None:
    rows = frame_of(make_row(nameDest="M1", step=1), make_row(nameDest="C1", step=47))

    matrix = build_features(rows)

    assert feature(matrix, "dest_is_merchant").tolist() == [1.0, 0.0]
    assert feature(matrix, "hour_of_day").tolist() == [1.0, 23.0]
