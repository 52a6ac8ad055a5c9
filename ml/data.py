"""Reading PaySim CSV files with explicit column types.

Every column is read as text first and converted column by column, so one bad value can never
turn a numeric column into strings: the row that holds it is reported with its line number and
left out, and the rest of the file is used.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import DataFormatError
from ml.schema import PAYSIM_DTYPES, TRANSACTION_TYPES

logger = logging.getLogger(__name__)

#: The first data row of a CSV is line 2 (line 1 is the header).
_FIRST_DATA_LINE = 2

#: Reported bad rows are kept up to this count; the total is always counted.
_MAX_REPORTED_BAD_ROWS = 1000

#: The largest sample weight taken. Every figure sums weights (and weights times amounts) over
#: up to a few million rows in float64: at 1e9 a sum of ten million weights stays near 1e16,
#: finite and exact to well under a unit, and amounts of up to 1e8 times it stay far below
#: float64's 1.8e308. PaySim's population weights are about 187, so 1e9 leaves room for any
#: honest re-weighting; a weight of 1e200 or 1e308 is a typo or a broken export, and would
#: overflow those sums to inf (CatBoost then fails to write its own log).
MAX_WEIGHT = 1e9

#: Above this share of bad rows a file is refused rather than used (``require_usable``): a
#: model or a measurement from what is left would describe a different file than the one
#: named.
MAX_BAD_SHARE = 0.5


@dataclass(frozen=True)
class BadRow:
    """A line of a CSV that could not be used, and why."""

    line: int
    reason: str


@dataclass
class PaysimData:
    """The usable rows of a PaySim CSV, the rows left out, and what identifies the file."""

    frame: pd.DataFrame
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_row_count: int = 0
    fingerprint: str = ""
    weights: np.ndarray | None = None
    #: Rows of the whole file that hold anything (bad ones included, blank lines not), before
    #: any step range is applied: what ``bad_row_count`` is a share of.
    rows_read: int = 0

    @property
    def labels(self) -> np.ndarray:
        return self.frame["isFraud"].to_numpy(dtype=np.int64)


def fingerprint_file(path: Path) -> str:
    """SHA-256 of a file's bytes: names exactly the data a model was trained or measured on."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_steps(text: str | None) -> tuple[int, int] | None:
    """Parse a step range such as ``120-400`` (inclusive); ``None`` means every step."""
    if text is None:
        return None
    try:
        first, _, last = text.partition("-")
        bounds = (int(first), int(last or first))
    except ValueError:
        raise DataFormatError(
            f"step range {text!r} is not of the form FIRST-LAST, for example 120-400"
        ) from None
    if bounds[0] > bounds[1] or bounds[0] < 0:
        raise DataFormatError(f"step range {text!r} must run from a low step to a higher one")
    return bounds


def read_paysim(
    path: str | Path,
    *,
    weights_column: str | None = None,
    steps: tuple[int, int] | None = None,
) -> PaysimData:
    """Read a PaySim CSV, keeping the rows that parse and reporting the others.

    Args:
        path: a CSV with the PaySim header (extra columns are allowed and kept).
        weights_column: a column of sample weights to read alongside; a row whose weight is
            negative, not finite or above ``MAX_WEIGHT`` is a bad row.
        steps: keep only rows whose ``step`` lies in this inclusive range.

    Returns:
        The valid rows (in file order, typed as in ``PAYSIM_DTYPES``), the bad rows with their
        line numbers, and the file's fingerprint.

    Raises:
        DataFormatError: the file is missing, a directory or empty, lacks a PaySim column or
            the weights column, the weights column is a PaySim column, or no row is valid.
    """
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(
            f"{path} is a directory, not a file: give the path of a PaySim CSV with --data"
        )
    if path.exists() and not path.is_file():
        raise DataFormatError(
            f"{path} is not a regular file: give the path of a PaySim CSV with --data"
        )
    if not path.is_file():
        raise DataFormatError(f"PaySim file {path} not found: check the path given with --data")
    if weights_column in PAYSIM_DTYPES:
        # The weights column is popped from the frame, so a PaySim column given as weights
        # would vanish from the rows that the features and labels are read from.
        raise DataFormatError(
            f"weights column {weights_column!r} is one of the PaySim columns: pick a column of "
            "sample weights other than the PaySim columns"
        )

    raw, ragged = _read_text_table(path)

    required = list(PAYSIM_DTYPES) + ([weights_column] if weights_column else [])
    missing = [column for column in required if column not in raw.columns]
    if missing:
        raise DataFormatError(
            f"{path} lacks the column(s) {', '.join(missing)}; a PaySim CSV has the header "
            f"{','.join(PAYSIM_DTYPES)}"
            + (f" plus the weights column {weights_column!r}" if weights_column else "")
        )

    # Every physical line is a row here (blank ones included), except those too ragged to
    # parse, so the file line of each row is known. A quoted field spanning lines would shift
    # the numbers after it; PaySim files have none.
    skipped = [bad.line for bad in ragged]
    lines = np.setdiff1d(
        np.arange(_FIRST_DATA_LINE, _FIRST_DATA_LINE + len(raw) + len(skipped)), skipped
    )
    frame, reasons = _convert_columns(raw, weights_column)
    blank = (raw == "").all(axis=1).to_numpy()
    reasons[blank] = ""
    bad_mask = reasons != ""
    if steps is not None:
        frame_steps = frame["step"].to_numpy()
        in_range = (frame_steps >= steps[0]) & (frame_steps <= steps[1])
    else:
        in_range = np.ones(len(frame), dtype=bool)

    bad_positions = np.flatnonzero(bad_mask)
    bad_rows = ragged + [
        BadRow(line=int(lines[position]), reason=str(reasons[position]))
        for position in bad_positions[:_MAX_REPORTED_BAD_ROWS]
    ]
    bad_rows.sort(key=lambda bad: bad.line)
    for bad in bad_rows[:5]:
        logger.warning("%s line %d left out: %s", path, bad.line, bad.reason)
    bad_count = len(bad_positions) + len(ragged)
    rows_read = int((~blank).sum()) + len(ragged)
    if bad_count > 5:
        logger.warning("%s: %d more bad rows left out", path, bad_count - 5)

    keep = ~bad_mask & ~blank & in_range
    frame = frame.loc[keep].reset_index(drop=True)
    if frame.empty:
        raise DataFormatError(
            f"{path} has no valid row"
            + (f" in steps {steps[0]}-{steps[1]}" if steps else "")
            + (
                f"; first problem: line {bad_rows[0].line}: {bad_rows[0].reason}"
                if bad_rows
                else ""
            )
        )

    weights = None
    if weights_column:
        weights = frame.pop(weights_column).to_numpy(dtype=np.float64)

    logger.info("read %d rows from %s (%d left out)", len(frame), path, bad_count)
    return PaysimData(
        frame=frame,
        bad_rows=bad_rows,
        bad_row_count=bad_count,
        fingerprint=fingerprint_file(path),
        weights=weights,
        rows_read=rows_read,
    )


def require_usable(
    data: PaysimData, path: str | Path, max_bad_share: float = MAX_BAD_SHARE
) -> None:
    """Refuse a file whose bad rows are more than ``max_bad_share`` of its rows; warn of fewer.

    Raises:
        DataFormatError: more than ``max_bad_share`` of the rows are bad.
    """
    if not data.bad_row_count:
        return
    total = max(data.rows_read, data.bad_row_count)
    share = data.bad_row_count / total
    reasons = "; ".join(f"line {bad.line}: {bad.reason}" for bad in data.bad_rows[:3])
    counted = f"{data.bad_row_count:,} of {total:,} rows of {path} are bad"
    if share > max_bad_share:
        raise DataFormatError(
            f"{counted} (first reasons: {reasons}): more than {max_bad_share:.0%} of the file "
            "cannot be used, so figures from the rest would not describe it; fix the file or "
            "remove those rows from it"
        )
    logger.warning("%s (%.1f %%) and left out; first: %s", counted, 100 * share, reasons)


def _read_text_table(path: Path) -> tuple[pd.DataFrame, list[BadRow]]:
    """Every column as text, blank lines kept; lines with the wrong number of fields set aside."""
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
    }
    try:
        return pd.read_csv(path, **options), []
    except pd.errors.ParserError:
        pass  # some line has too many fields: find them, then read the rest
    except pd.errors.EmptyDataError as error:
        # Raised for a file of zero bytes or of blank lines only: there is no header to read.
        raise DataFormatError(
            f"{path} is empty: a PaySim CSV starts with the header {','.join(PAYSIM_DTYPES)}"
        ) from error
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path} is not a UTF-8 text file: {error}") from error

    ragged: list[BadRow] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for fields in reader:
            if fields and len(fields) != len(header):
                ragged.append(
                    BadRow(reader.line_num, f"has {len(fields)} fields, the header {len(header)}")
                )
    try:
        raw = pd.read_csv(path, skiprows=[bad.line - 1 for bad in ragged], **options)
    except pd.errors.ParserError as error:
        raise DataFormatError(f"{path} is not a readable CSV file: {error}") from error
    return raw, ragged


def _convert_columns(
    raw: pd.DataFrame, weights_column: str | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Convert each column to its type; return the typed frame and a reason per row ('' = ok)."""
    reasons = np.full(len(raw), "", dtype=object)
    typed: dict[str, object] = {}

    def note(mask: np.ndarray, reason: str) -> None:
        # Keep the first reason a row fails for: it is the one a user fixes first.
        reasons[mask & (reasons == "")] = reason

    numeric = {name: kind for name, kind in PAYSIM_DTYPES.items() if kind != "str"}
    if weights_column:
        numeric[weights_column] = "float64"

    for name, kind in numeric.items():
        values = pd.to_numeric(raw[name].str.strip(), errors="coerce").to_numpy(dtype=np.float64)
        invalid = ~np.isfinite(values)
        note(invalid, f"{name} is not a number: {{}}")
        negative = ~invalid & (values < 0)
        note(negative, f"{name} is negative: {{}}")
        invalid |= negative
        if name == weights_column:
            too_large = ~invalid & (values > MAX_WEIGHT)
            note(too_large, f"{name} is larger than {MAX_WEIGHT:,.0f}: {{}}")
            invalid |= too_large
        if kind == "int64":
            fractional = ~invalid & (values != np.round(values))
            note(fractional, f"{name} is not a whole number: {{}}")
            invalid |= fractional
        values = np.where(invalid, 0, values)
        typed[name] = values.astype(kind)

    for name in ("nameOrig", "nameDest"):
        text = raw[name].str.strip()
        note((text == "").to_numpy(), f"{name} is empty: {{}}")
        typed[name] = text.to_numpy(dtype=object)

    kinds = raw["type"].str.strip().str.upper()
    note(~kinds.isin(TRANSACTION_TYPES).to_numpy(), "type is not a PaySim type: {}")
    typed["type"] = kinds.to_numpy(dtype=object)

    labels = np.asarray(typed["isFraud"])
    note(~np.isin(labels, (0, 1)), "isFraud is not 0 or 1: {}")

    # Fill the offending value into each reason only for the rows that have one.
    for position in np.flatnonzero(reasons != ""):
        column = str(reasons[position]).split(" ", 1)[0]
        reasons[position] = str(reasons[position]).format(repr(raw[column].iat[position]))

    extra = [c for c in raw.columns if c not in typed]
    frame = pd.DataFrame({name: typed[name] for name in list(PAYSIM_DTYPES) if name in typed})
    if weights_column:
        frame[weights_column] = typed[weights_column]
    for column in extra:
        frame[column] = raw[column].to_numpy()
    return frame, reasons
