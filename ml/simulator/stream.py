"""The simulation loop: step after step, legit rows with takeovers placed among them.

Rows are made in blocks of at most ``BLOCK_ROWS`` whatever the caller's chunk size, so the
same seed gives the same rows for any chunk size, and what is held at once is one block plus
the chunk being filled: memory does not grow with the length of the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from ml.schema import PAYSIM_COLUMNS
from ml.simulator.errors import SimulationError
from ml.simulator.fraud import Takeovers, rows_per_takeover, takeovers
from ml.simulator.params import PAYSIM_FRAUD_RATE, PAYSIM_LEGIT_ROWS_PER_STEP, TYPES
from ml.simulator.traffic import Rows, legit_rows, volume_weight

logger = logging.getLogger(__name__)

#: Rows made at a time: large enough that numpy's per-call cost vanishes, small enough to keep
#: memory flat (a block of this size is a few megabytes).
BLOCK_ROWS: Final = 16_384
#: The highest fraud share that can be asked for; at 1 there would be no legit row at all.
MAX_FRAUD_RATE: Final = 0.9
#: Bounds of the mean legit volume per step: at least a row, at most far beyond PaySim's.
MIN_ROWS_PER_STEP: Final = 1.0
MAX_ROWS_PER_STEP: Final = 10_000_000.0

_TYPE_CATEGORIES: Final = pd.CategoricalDtype(list(TYPES))


@dataclass(frozen=True)
class SimulationSettings:
    """What shapes a simulated stream; every default is PaySim's own figure.

    Attributes:
        seed: seed of the random generator; ``None`` draws one from the operating system.
        fraud_rate: share of fraud rows over a whole cycle of PaySim's 400-step day pattern
            (PaySim's steps 1-400: 0.077 %). Fraud keeps a flat pace per step while legit
            volume follows the day, so over a shorter run the share follows the hours covered:
            higher at night and on PaySim's quiet days, as in PaySim.
        rows_per_step: mean legit rows per step (one simulated hour); PaySim's 14,451. Lower
            it to cover more hours with fewer rows.
        retry_share: for demos only: the share of takeovers whose account the fraudster drains
            again later in the same step, so that a detector's block is seen to refuse it.
            PaySim never does this; 0 keeps the stream faithful.
    """

    seed: int | None = None
    fraud_rate: float = PAYSIM_FRAUD_RATE
    rows_per_step: float = PAYSIM_LEGIT_ROWS_PER_STEP
    retry_share: float = 0.0

    def __post_init__(self) -> None:
        """Refuse out-of-range settings with a message naming the range.

        Raises:
            SimulationError: a setting is out of its range (or NaN).
        """
        checks = (
            ("fraud_rate", self.fraud_rate, 0.0, MAX_FRAUD_RATE),
            ("rows_per_step", self.rows_per_step, MIN_ROWS_PER_STEP, MAX_ROWS_PER_STEP),
            ("retry_share", self.retry_share, 0.0, 1.0),
        )
        for name, value, low, high in checks:
            if not (isinstance(value, int | float) and low <= value <= high):
                raise SimulationError(
                    f"{name} must be a number from {low:g} to {high:g}, got {value!r}"
                )
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise SimulationError(f"seed must be a whole number of 0 or more, got {self.seed!r}")


def simulate_blocks(settings: SimulationSettings) -> Iterator[pd.DataFrame]:
    """Yield frames of about ``BLOCK_ROWS`` rows in PaySim's columns, step after step, forever.

    A block holds the legit rows of one stretch of a step and the fraud rows placed in it, so a
    block can be a little longer than ``BLOCK_ROWS`` by its fraud rows.
    """
    rng = np.random.default_rng(settings.seed)
    # Takeovers per step such that fraud rows make ``fraud_rate`` of all rows over a cycle.
    fraud_rows = settings.fraud_rate / (1.0 - settings.fraud_rate) * settings.rows_per_step
    takeovers_per_step = fraud_rows / rows_per_takeover(settings.retry_share)
    logger.debug("simulating: %s, %.3f takeovers per step", settings, takeovers_per_step)
    step = 1
    while True:
        legit = int(rng.poisson(settings.rows_per_step * volume_weight(step)))
        fraud = takeovers(rng, int(rng.poisson(takeovers_per_step)), settings.retry_share)
        yield from _step_blocks(rng, step, legit, fraud)
        step += 1


def _step_blocks(
    rng: np.random.Generator, step: int, legit: int, fraud: Takeovers
) -> Iterator[pd.DataFrame]:
    # Each fraud row goes in after the legit row at its place in the step.
    after = np.floor(fraud.places * legit).astype(np.int64)
    starts = range(0, max(legit, 1), BLOCK_ROWS)
    for start in starts:
        stop = min(start + BLOCK_ROWS, legit)
        rows = legit_rows(rng, stop - start)
        last = start == starts[-1]
        mine = (after >= start) & ((after < stop) | last)
        if mine.any():
            rows = _merge(rows, fraud.rows, np.minimum(after[mine], stop) - start, mine)
        if len(rows):
            yield _frame(step, rows)


def _merge(legit: Rows, fraud: Rows, positions: np.ndarray, mine: np.ndarray) -> Rows:
    """Insert the selected fraud rows into the legit ones at ``positions`` (sorted, stable)."""
    order = np.argsort(positions, kind="stable")
    where = positions[order]
    picked = np.flatnonzero(mine)[order]
    merged = {
        name: np.insert(getattr(legit, name), where, getattr(fraud, name)[picked])
        for name in Rows.__dataclass_fields__
    }
    return Rows(**merged)


def _frame(step: int, rows: Rows) -> pd.DataFrame:
    columns = {
        "step": np.full(len(rows), step, dtype=np.int64),
        "type": pd.Categorical.from_codes(rows.kind, dtype=_TYPE_CATEGORIES),
        "amount": rows.amount,
        "nameOrig": rows.name_orig,
        "oldbalanceOrg": rows.old_orig,
        "newbalanceOrig": rows.new_orig,
        "nameDest": rows.name_dest,
        "oldbalanceDest": rows.old_dest,
        "newbalanceDest": rows.new_dest,
        "isFraud": rows.is_fraud,
        "isFlaggedFraud": rows.is_flagged,
    }
    return pd.DataFrame({name: columns[name] for name in PAYSIM_COLUMNS})


def rechunk(
    blocks: Iterator[pd.DataFrame], chunk_rows: int, rows: int | None
) -> Iterator[pd.DataFrame]:
    """Regroup blocks into frames of exactly ``chunk_rows`` rows (the last may be shorter).

    Holds at most one chunk and one block at a time; stops after ``rows`` rows when given.
    """
    pending: list[pd.DataFrame] = []
    held = 0
    emitted = 0
    for block in blocks:
        if rows is not None:
            block = block.iloc[: rows - emitted - held]
        pending.append(block)
        held += len(block)
        while held >= chunk_rows:
            joined = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield joined.iloc[:chunk_rows].reset_index(drop=True)
            emitted += chunk_rows
            rest = joined.iloc[chunk_rows:]
            pending, held = ([rest] if len(rest) else []), len(rest)
        if rows is not None and emitted + held >= rows:
            break
    if held:
        yield pd.concat(pending, ignore_index=True)
