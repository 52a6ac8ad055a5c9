"""A PaySim-faithful transaction simulator.

It reproduces what the README of the real PaySim rows describes: the five types in their
shares, per-type amounts, the day/night and day-to-day volume of legit traffic against the
flat pace of fraud, customers and merchants (merchants always at zero), PaySim's balance
quirks, account takeovers with capped chunks and the rule behind ``isFlaggedFraud``, in
PaySim's columns and formats. Its figures are in ``ml.simulator.params``;
``ml.simulator.fidelity`` compares its output with real rows.

Typical use::

    from ml.simulator import simulate_frames

    for frame in simulate_frames(seed=7, rows=1_000_000):
        ...  # a pandas frame of up to 65,536 rows, PaySim's columns, in step order
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

import pandas as pd

from ml.simulator.errors import SimulationError
from ml.simulator.params import PAYSIM_FRAUD_RATE, PAYSIM_LEGIT_ROWS_PER_STEP
from ml.simulator.stream import SimulationSettings, rechunk, simulate_blocks

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "PAYSIM_FRAUD_RATE",
    "PAYSIM_LEGIT_ROWS_PER_STEP",
    "SimulationError",
    "SimulationSettings",
    "simulate_frames",
    "simulate_transactions",
]

#: Rows per frame by default: a few megabytes, and large enough for fast CSV writing.
DEFAULT_CHUNK_ROWS: Final = 65_536
#: Rows per frame behind the row iterator: small, so the first row comes at once.
_ROW_CHUNK: Final = 1_024


def simulate_frames(
    *,
    seed: int | None,
    fraud_rate: float | None = None,
    rows: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    rows_per_step: float | None = None,
    retry_share: float = 0.0,
) -> Iterator[pd.DataFrame]:
    """Yield simulated transactions as frames in PaySim's columns, in step order.

    Args:
        seed: seed of the random generator; the same seed gives the same rows, whatever
            ``chunk_rows``. ``None`` draws one from the operating system.
        fraud_rate: share of fraud rows over a cycle of PaySim's day pattern; ``None`` for
            PaySim's own (0.077 % in its steps 1-400). See ``SimulationSettings``.
        rows: stop after this many rows; ``None`` for an endless stream.
        chunk_rows: rows per frame (the last may be shorter).
        rows_per_step: mean legit rows per simulated hour; ``None`` for PaySim's 14,451.
        retry_share: demo-only share of takeovers tried again on the same account (0 keeps
            the stream PaySim-faithful).

    Raises:
        SimulationError: a setting is out of range (checked at the call, not at the first
            frame).
    """
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise SimulationError(f"chunk_rows must be a whole number of 1 or more, got {chunk_rows!r}")
    if rows is not None and (not isinstance(rows, int) or rows < 0):
        raise SimulationError(f"rows must be a whole number of 0 or more, got {rows!r}")
    settings = SimulationSettings(
        seed=seed,
        fraud_rate=PAYSIM_FRAUD_RATE if fraud_rate is None else fraud_rate,
        rows_per_step=PAYSIM_LEGIT_ROWS_PER_STEP if rows_per_step is None else rows_per_step,
        retry_share=retry_share,
    )
    if rows == 0:
        return iter(())
    return rechunk(simulate_blocks(settings), chunk_rows, rows)


def simulate_transactions(
    *,
    seed: int | None,
    fraud_rate: float | None = None,
    rows: int | None = None,
    rows_per_step: float | None = None,
    retry_share: float = 0.0,
) -> Iterator[dict[str, object]]:
    """The same stream as ``simulate_frames``, one transaction dict at a time (for producers).

    Values are plain Python ``int``, ``float`` and ``str``, which JSON and boto3 take.

    Raises:
        SimulationError: a setting is out of range (checked at the call).
    """
    frames = simulate_frames(
        seed=seed,
        fraud_rate=fraud_rate,
        rows=rows,
        chunk_rows=_ROW_CHUNK,
        rows_per_step=rows_per_step,
        retry_share=retry_share,
    )
    return _rows(frames)


def _rows(frames: Iterator[pd.DataFrame]) -> Iterator[dict[str, object]]:
    for frame in frames:
        frame = frame.astype({"type": str})
        # to_dict turns numpy scalars into plain Python values.
        yield from frame.to_dict(orient="records")
