"""Accounts: their names and the balances they show before a transaction.

PaySim's senders almost never come back (6,353,307 distinct senders in 6,362,620 rows), so
every row gets a fresh sender name. Customers are ``C…`` and merchants ``M…``; merchants only
receive PAYMENTs and PaySim keeps their balances at zero. Balances are drawn from the calibrated
quantile tables of ``ml.simulator.params``, so no per-account state is kept and memory stays
flat however long the stream runs.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from ml.simulator.params import ACCOUNT_NUMBER_HIGH, QUANTILE_LEVELS, FloatArray

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
TextArray = npt.NDArray[np.object_]


def account_numbers(rng: np.random.Generator, count: int) -> IntArray:
    """``count`` account numbers in PaySim's range (a collision is as rare as in PaySim)."""
    return rng.integers(1, ACCOUNT_NUMBER_HIGH, size=count, dtype=np.int64)


def account_names(prefix: str | TextArray, numbers: IntArray) -> TextArray:
    """Names such as ``C1231006815``: a prefix (one, or one per number) and the number."""
    digits = numbers.astype(str).astype(object)
    return np.asarray(prefix + digits, dtype=object)


def from_quantiles(rng: np.random.Generator, knots: FloatArray, count: int) -> FloatArray:
    """Draw ``10 ** x`` with ``x`` following the quantile table, to the cent.

    Linear interpolation between the knots is the inverse of a piecewise-linear distribution
    function, so the draws follow the table exactly at every knot and smoothly in between.
    """
    levels = rng.random(count)
    values = np.power(10.0, np.interp(levels, QUANTILE_LEVELS, knots))
    # Never below a cent: a balance or amount shown is at least 0.01 when it is not zero.
    return np.maximum(np.round(values, 2), 0.01)


def balances(
    rng: np.random.Generator, knots: FloatArray, zero_share: float | FloatArray, count: int
) -> FloatArray:
    """Balances of ``count`` accounts: zero with ``zero_share``, else from the quantile table."""
    drawn = from_quantiles(rng, knots, count)
    return np.where(rng.random(count) < zero_share, 0.0, drawn)
