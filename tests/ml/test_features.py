"""Tests for the one feature builder (``ml.features``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
import pytest

from ml.data import read_paysim
from ml.errors import UnknownTransactionTypeError
from ml.features import FEATURE_DOCS, FEATURE_NAMES, INPUT_COLUMNS, build_features
from ml.schema import LABEL_COLUMN, PAYSIM_COLUMNS, POST_TRANSACTION_COLUMNS, TRANSACTION_TYPES

#: The columns no feature may read, directly or through anything derived from them.
LEAKING_COLUMNS = ("newbalanceOrig", "newbalanceDest", "isFlaggedFraud", "isFraud")


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
        "full_chunk",
        "moves_nothing",
    )
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 16


def test_feature_docs_describe_every_feature_and_nothing_else() -> None:
    assert list(FEATURE_DOCS) == list(FEATURE_NAMES)
    for name, text in FEATURE_DOCS.items():
        assert len(text.split()) >= 8, f"{name} is not explained: {text!r}"


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
        "full_chunk": 0.0,
        "moves_nothing": 0.0,
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


@pytest.mark.parametrize("kind", ["CASH-OUT", "CASH OUT", "WIRE", "", "TRANSFERS", None, 3])
def test_build_features_unknown_type_raises(make_row, kind: object) -> None:
    with pytest.raises(UnknownTransactionTypeError, match=re.escape(repr(kind))):
        build_features(frame_of(make_row(), make_row(type=kind)))


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [("transfer", "TRANSFER"), (" Cash_Out ", "CASH_OUT"), ("cash_out", "CASH_OUT")],
)
def test_build_features_normalises_case_and_blanks_of_the_type(
    make_row, spelling: str, kind: str
) -> None:
    # Given the same transaction with its type spelled in upper case and otherwise
    plain, spelled = make_row(type=kind), make_row(type=spelling)

    # When / Then both build the same features
    np.testing.assert_array_equal(
        build_features(frame_of(spelled)),
        build_features(frame_of(plain)),
        err_msg=f"type {spelling!r} should be read as {kind}",
    )


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


@pytest.mark.parametrize(
    ("amount", "balance", "chunk"),
    [
        (10_000_000.0, 25_000_000.0, 1.0),
        (10_000_000.0, 10_000_000.0, 1.0),
        (10_000_000.0, 70_328.0, 0.0),
        (9_999_999.0, 25_000_000.0, 0.0),
    ],
)
def test_build_features_full_chunk_of_a_larger_balance(
    make_row, amount: float, balance: float, chunk: float
) -> None:
    row = make_row(type="TRANSFER", amount=amount, oldbalanceOrg=balance, nameDest="C5")

    assert feature(build_features(frame_of(row)), "full_chunk")[0] == chunk, (
        f"amount {amount} from balance {balance}: full_chunk should be {chunk}"
    )


def test_build_features_moves_nothing_only_for_a_zero_amount(make_row) -> None:
    rows = frame_of(
        make_row(type="CASH_OUT", amount=0.0, oldbalanceOrg=0.0, nameDest="C5"),
        make_row(type="CASH_OUT", amount=0.01, oldbalanceOrg=0.0, nameDest="C5"),
    )

    assert feature(build_features(rows), "moves_nothing").tolist() == [1.0, 0.0]


# Leakage: no feature may read the label or a column written after the transaction. -----------


def test_input_columns_hold_no_leaking_column() -> None:
    assert set(LEAKING_COLUMNS) == {*POST_TRANSACTION_COLUMNS, LABEL_COLUMN}
    assert not set(INPUT_COLUMNS) & set(LEAKING_COLUMNS), f"INPUT_COLUMNS {INPUT_COLUMNS}"
    assert set(INPUT_COLUMNS) <= set(PAYSIM_COLUMNS)


@pytest.fixture
def mixed_frame(synthetic_csv) -> pd.DataFrame:
    """2,000 generated rows of every type, takeovers among them."""
    frame = read_paysim(synthetic_csv(2000, seed=8, fraud_rate=0.2)).frame
    assert frame["isFraud"].sum() > 100 and frame["type"].nunique() == len(TRANSACTION_TYPES)
    return frame


def test_build_features_identical_when_every_leaking_column_is_scrambled(
    mixed_frame: pd.DataFrame,
) -> None:
    # Given a frame, and a copy whose leaking columns hold other, random values
    rng = np.random.default_rng(4)
    scrambled = mixed_frame.copy()
    for column in ("newbalanceOrig", "newbalanceDest"):
        scrambled[column] = rng.uniform(0, 1e7, len(scrambled))
    for column in ("isFlaggedFraud", "isFraud"):
        scrambled[column] = 1 - scrambled[column]

    # When / Then the features are exactly those of the original
    np.testing.assert_array_equal(
        build_features(scrambled),
        build_features(mixed_frame),
        err_msg="a feature depends on a leaking column",
    )


def test_build_features_identical_when_the_leaking_columns_are_removed(
    mixed_frame: pd.DataFrame,
) -> None:
    # Given the frame with every leaking column dropped
    stripped = mixed_frame.drop(columns=list(LEAKING_COLUMNS))

    # When / Then the features are built, and are those of the full frame
    np.testing.assert_array_equal(build_features(stripped), build_features(mixed_frame))


class _ReadRecorder(Mapping[str, object]):
    """A mapping of columns that records every column it is asked for."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> object:
        self.read.add(key)
        return self._frame[key].to_numpy()

    def __iter__(self) -> Iterator[str]:
        self.read.update(self._frame.columns)
        return iter(self._frame.columns)

    def __len__(self) -> int:
        return len(self._frame.columns)


def test_build_features_reads_only_the_input_columns(mixed_frame: pd.DataFrame) -> None:
    # Given columns that note what is read from them
    columns = _ReadRecorder(mixed_frame)

    # When the features are built
    build_features(columns)

    # Then only INPUT_COLUMNS were read, and no leaking column among them
    assert columns.read <= set(INPUT_COLUMNS), f"read {sorted(columns.read - set(INPUT_COLUMNS))}"
    assert not columns.read & set(LEAKING_COLUMNS)
