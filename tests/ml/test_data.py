"""Tests for reading PaySim CSV files with explicit column types (``ml.data``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from ml.data import parse_steps, read_paysim, require_usable
from ml.errors import DataFormatError
from ml.schema import PAYSIM_COLUMNS, PAYSIM_DTYPES

NUMERIC_COLUMNS = [name for name, kind in PAYSIM_DTYPES.items() if kind != "str"]


def csv_line(row: dict[str, object], **raw: str) -> str:
    """A CSV line of ``row`` with some fields replaced by raw text (quoted if it has a comma)."""
    fields = []
    for column in PAYSIM_COLUMNS:
        text = raw.get(column, str(row[column]))
        fields.append(f'"{text}"' if "," in text else text)
    return ",".join(fields)


def assert_typed_as_declared(frame, path: Path) -> None:
    for column, kind in PAYSIM_DTYPES.items():
        expected = np.dtype(object) if kind == "str" else np.dtype(kind)
        assert frame[column].dtype == expected, (
            f"{path.name}: column {column} is {frame[column].dtype}, declared {kind}"
        )


def test_read_paysim_good_file_is_typed_with_the_declared_dtypes(make_row, write_csv) -> None:
    # Given a file of valid rows
    rows = [make_row(step=step, amount=10.0 * step, nameOrig=f"C{step}") for step in (1, 2, 3)]
    path = write_csv(rows)

    # When it is read
    data = read_paysim(path)

    # Then every row is kept, typed as declared, in file order
    assert len(data.frame) == 3, f"{path.name}: expected 3 rows, got {len(data.frame)}"
    assert data.bad_rows == [] and data.bad_row_count == 0, f"unexpected bad rows {data.bad_rows}"
    assert_typed_as_declared(data.frame, path)
    assert data.frame["amount"].tolist() == [10.0, 20.0, 30.0], "amounts read in file order"
    assert data.frame["nameOrig"].tolist() == ["C1", "C2", "C3"]
    assert data.weights is None, "no weights column was asked for"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"amount": "12,5x"}, "amount is not a number: '12,5x'"),
        ({"amount": "-3.5"}, "amount is negative: '-3.5'"),
        ({"type": "CASH-OUT"}, "type is not a PaySim type: 'CASH-OUT'"),
        ({"isFraud": "2"}, "isFraud is not 0 or 1: '2'"),
        ({"isFraud": "yes"}, "isFraud is not a number: 'yes'"),
        ({"step": "1.5"}, "step is not a whole number: '1.5'"),
        ({"oldbalanceOrg": "nan"}, "oldbalanceOrg is not a number: 'nan'"),
        ({"nameOrig": ""}, "nameOrig is empty: ''"),
    ],
    ids=[
        "bad-number",
        "negative-amount",
        "unknown-type",
        "isFraud-2",
        "isFraud-text",
        "fractional-step",
        "nan-balance",
        "empty-account",
    ],
)
def test_read_paysim_bad_row_is_reported_with_its_line_and_left_out(
    make_row, write_csv, raw: dict[str, str], reason: str
) -> None:
    # Given a bad row on line 4 (header = line 1) between good rows
    good = make_row()
    lines = [
        csv_line(good),
        csv_line(good, nameOrig="C2"),
        csv_line(good, **raw),
        csv_line(good, nameOrig="C5"),
    ]
    path = write_csv(lines)

    # When the file is read
    data = read_paysim(path)

    # Then the bad row is reported with its exact line and reason, the others are kept
    assert [(bad.line, bad.reason) for bad in data.bad_rows] == [(4, reason)], (
        f"{path.name} with {raw}: reported {data.bad_rows}"
    )
    assert data.bad_row_count == 1
    assert len(data.frame) == 3, f"{raw}: the three good rows must stay, got {len(data.frame)}"
    # And one bad value never turns a numeric column into text
    assert_typed_as_declared(data.frame, path)


def test_read_paysim_several_bad_rows_each_have_their_own_line(make_row, write_csv) -> None:
    # Given bad rows on lines 3 and 6
    good = make_row()
    lines = [
        csv_line(good),
        csv_line(good, amount="x"),
        csv_line(good),
        csv_line(good),
        csv_line(good, type="WIRE"),
    ]
    path = write_csv(lines)

    # When it is read
    data = read_paysim(path)

    # Then both are reported at their lines, in file order
    assert [bad.line for bad in data.bad_rows] == [3, 6], f"reported {data.bad_rows}"
    assert len(data.frame) == 3


def test_read_paysim_line_numbers_count_blank_lines(make_row, write_csv) -> None:
    # Given a blank line 3 and a bad row on line 4
    good = make_row()
    path = write_csv([csv_line(good), "", csv_line(good, amount="-1")])

    # When it is read
    data = read_paysim(path)

    # Then the bad row is reported at line 4, where an editor shows it
    assert [bad.line for bad in data.bad_rows] == [4], f"reported {data.bad_rows}"


def test_read_paysim_missing_column_raises_naming_it(make_row, write_csv) -> None:
    # Given a file without the oldbalanceDest column
    columns = tuple(c for c in PAYSIM_COLUMNS if c != "oldbalanceDest")
    path = write_csv([make_row()], columns=columns)

    # When / Then
    with pytest.raises(DataFormatError, match="oldbalanceDest") as raised:
        read_paysim(path)
    assert str(path) in str(raised.value), f"message should name the file: {raised.value}"


def test_read_paysim_missing_weights_column_raises_naming_it(make_row, write_csv) -> None:
    path = write_csv([make_row()])

    with pytest.raises(DataFormatError, match="sample_weight"):
        read_paysim(path, weights_column="sample_weight")


def test_read_paysim_missing_file_raises_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"

    with pytest.raises(DataFormatError, match=r"nowhere\.csv"):
        read_paysim(missing)


def test_read_paysim_empty_file_raises_saying_it_is_empty(tmp_path: Path) -> None:
    # Given a file of zero bytes (no header at all)
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    # When / Then it is refused as empty, naming the file
    with pytest.raises(DataFormatError, match="is empty") as raised:
        read_paysim(path)
    assert str(path) in str(raised.value), f"message should name the file: {raised.value}"


def test_read_paysim_directory_raises_saying_it_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "paysim"
    folder.mkdir()

    with pytest.raises(DataFormatError, match="is a directory, not a file") as raised:
        read_paysim(folder)
    assert str(folder) in str(raised.value), f"message should name the path: {raised.value}"
    assert "not found" not in str(raised.value), f"the directory exists: {raised.value}"


def test_read_paysim_device_file_is_refused_as_not_a_regular_file() -> None:
    # Given a path that exists but is not a regular file (a character device)
    # When / Then it is refused for what it is, not reported missing
    with pytest.raises(DataFormatError, match="/dev/null is not a regular file"):
        read_paysim(Path("/dev/null"))


@pytest.mark.parametrize("column", ["isFraud", "step", "amount", "isFlaggedFraud", "type"])
def test_read_paysim_paysim_column_as_weights_is_refused_naming_it(
    make_row, write_csv, column: str
) -> None:
    path = write_csv([make_row(), make_row(nameOrig="C2")])

    with pytest.raises(DataFormatError, match="other than the PaySim columns") as raised:
        read_paysim(path, weights_column=column)
    assert repr(column) in str(raised.value), f"message should name {column}: {raised.value}"


def test_read_paysim_no_valid_row_raises_with_the_first_problem(make_row, write_csv) -> None:
    path = write_csv([csv_line(make_row(), type="WIRE")])

    with pytest.raises(DataFormatError, match="line 2"):
        read_paysim(path)


def test_read_paysim_weights_column_is_read_and_popped(make_row, write_csv) -> None:
    # Given a file with a sample_weight column
    columns = (*PAYSIM_COLUMNS, "sample_weight")
    rows = [
        {**make_row(nameOrig=f"C{i}"), "sample_weight": weight}
        for i, weight in enumerate((1.0, 187.03, 2.5))
    ]
    path = write_csv(rows, columns=columns)

    # When it is read with that weights column
    data = read_paysim(path, weights_column="sample_weight")

    # Then the weights come out as float64, in row order, and are no longer a frame column
    assert data.weights is not None, "weights were asked for"
    assert data.weights.dtype == np.float64
    assert data.weights.tolist() == [1.0, 187.03, 2.5], f"weights {data.weights}"
    assert "sample_weight" not in data.frame.columns, "the weights column must be popped"


def test_read_paysim_negative_weight_is_a_bad_row(make_row, write_csv) -> None:
    columns = (*PAYSIM_COLUMNS, "sample_weight")
    rows = [{**make_row(), "sample_weight": 1.0}, {**make_row(), "sample_weight": -2.0}]
    path = write_csv(rows, columns=columns)

    data = read_paysim(path, weights_column="sample_weight")

    assert [(b.line, b.reason) for b in data.bad_rows] == [
        (3, "sample_weight is negative: '-2.0'")
    ], f"reported {data.bad_rows}"
    assert data.weights is not None and data.weights.tolist() == [1.0]


def test_read_paysim_steps_filter_keeps_only_that_range(make_row, write_csv) -> None:
    # Given rows of steps 1 to 6
    path = write_csv([make_row(step=step) for step in range(1, 7)])

    # When only steps 2-4 are asked for
    data = read_paysim(path, steps=(2, 4))

    # Then only those rows remain
    assert data.frame["step"].tolist() == [2, 3, 4], f"steps kept {data.frame['step'].tolist()}"


def test_read_paysim_steps_filter_with_no_row_in_range_raises(make_row, write_csv) -> None:
    path = write_csv([make_row(step=1)])

    with pytest.raises(DataFormatError, match="steps 5-9"):
        read_paysim(path, steps=(5, 9))


def test_read_paysim_fingerprint_is_sha256_of_the_file(make_row, write_csv) -> None:
    path = write_csv([make_row()])

    data = read_paysim(path)

    assert data.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("120-400", (120, 400)), ("7", (7, 7)), ("0-0", (0, 0)), (None, None)],
)
def test_parse_steps_good_ranges(text: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_steps(text) == expected, f"parse_steps({text!r})"


@pytest.mark.parametrize("text", ["400-120", "a-b", "1-x", "", "-5", "1-2-3"])
def test_parse_steps_bad_ranges_raise_naming_the_text(text: str) -> None:
    with pytest.raises(DataFormatError, match=re.escape(repr(text))):
        parse_steps(text)


@pytest.mark.parametrize(
    ("weight", "reason"),
    [
        ("1e308", "is larger than 1,000,000,000"),
        ("1e200", "is larger than 1,000,000,000"),
        ("1000000001", "is larger than 1,000,000,000"),
        ("inf", "is not a number"),
        ("-inf", "is not a number"),
        ("nan", "is not a number"),
    ],
)
def test_read_paysim_a_weight_not_finite_or_beyond_the_bound_is_a_bad_row(
    make_row, write_csv, weight: str, reason: str
) -> None:
    # Given a weighted file whose second row has an absurd weight
    columns = (*PAYSIM_COLUMNS, "w")
    rows = [{**make_row(step=step), "w": "187.5"} for step in (1, 2, 3)]
    rows[1]["w"] = weight
    path = write_csv(rows, columns=columns)

    # When it is read with that weights column
    data = read_paysim(path, weights_column="w")

    # Then that row is left out with its reason, and the sums of the rest stay finite
    assert data.bad_row_count == 1 and data.bad_rows[0].line == 3, data.bad_rows
    assert data.bad_rows[0].reason == f"w {reason}: {weight!r}", data.bad_rows
    assert data.weights is not None and data.weights.tolist() == [187.5, 187.5]


def test_read_paysim_a_weight_at_the_bound_is_kept(make_row, write_csv) -> None:
    rows = [{**make_row(step=1), "w": "1000000000"}]
    data = read_paysim(write_csv(rows, columns=(*PAYSIM_COLUMNS, "w")), weights_column="w")

    assert data.bad_row_count == 0 and data.weights is not None
    assert data.weights.tolist() == [1e9]


def test_require_usable_refuses_a_file_of_mostly_bad_rows(make_row, write_csv) -> None:
    # Given a file of 10 rows, 6 of them with a text amount
    rows: list[dict[str, object] | str] = [make_row(step=step) for step in range(1, 5)]
    rows += [csv_line(make_row(step=9), amount="lots") for _ in range(6)]
    path = write_csv(rows)
    data = read_paysim(path)

    # When / Then it is refused, counting the bad rows and naming the first reasons
    with pytest.raises(DataFormatError) as raised:
        require_usable(data, path)
    message = str(raised.value)
    assert f"6 of 10 rows of {path} are bad" in message, message
    assert "line 6: amount is not a number: 'lots'" in message, message
    assert "fix the file" in message, message


def test_require_usable_only_warns_of_a_minority_of_bad_rows(
    make_row, write_csv, caplog: pytest.LogCaptureFixture
) -> None:
    rows: list[dict[str, object] | str] = [make_row(step=step) for step in range(1, 6)]
    rows += [csv_line(make_row(step=9), amount="lots") for _ in range(5)]
    path = write_csv(rows)

    with caplog.at_level("WARNING", logger="ml.data"):
        require_usable(read_paysim(path), path)

    assert f"5 of 10 rows of {path} are bad" in caplog.text, caplog.text
