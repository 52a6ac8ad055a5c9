"""How closely simulated rows match real ones: the figures of ``fds simulate --compare``.

Both sides go through the same ``Tally``, which reads frames one at a time (the simulated side
is streamed, so memory stays flat for any number of rows) and weighs each row by its sample
weight when the real file has one. Every figure has a tolerance fixed here, not after seeing
the result:

- type shares within 2 percentage points; overall fraud rate within 10 % of the real one
  (relative); per-type fraud rates within 15 % relative (each holds about half the frauds, so
  its sampling noise is about 1.4 times the overall one), and exactly zero where the real is;
- two-sample Kolmogorov-Smirnov distance of log10(amount), at most 0.05 per type;
- share of fraud rows whose amount equals the sender's balance before within 2 points, and no
  legit row at all with it;
- the shares of zero balances (sender and recipient, before and after) within 3 points, and no
  merchant row with a balance;
- the hourly profile of legit and of fraud rows (share of each hour of the day) within 1 and
  2 points in the hour where they differ most. The fraud one is noisy: 4,477 real fraud rows
  put about 190 in an hour, so each hour's share has a sampling error of about 0.3 points on
  each side, and takeovers come in pairs and chunks, which widens it by about 1.4; the largest
  of 24 such gaps is then below 2 points in 95 % of runs.

The KS distance is computed from histograms of log10(amount) in bins of 0.001 (an amount is
then known to 0.23 %), so both sides are reduced the same way and the simulated side needs no
memory per row; the error this adds to the distance is below the mass of one bin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from ml.simulator.errors import FidelityError
from ml.simulator.params import TYPES, FloatArray

logger = logging.getLogger(__name__)

_LOG_LOW: Final = -2.0  # a cent
_LOG_HIGH: Final = 9.0  # a billion, far above any PaySim amount
_BIN: Final = 0.001
_BINS: Final = round((_LOG_HIGH - _LOG_LOW) / _BIN)
_CENT: Final = 0.005

TYPE_SHARE_POINTS: Final = 2.0
FRAUD_RATE_RELATIVE: Final = 0.10
TYPE_FRAUD_RATE_RELATIVE: Final = 0.15
KS_MAX: Final = 0.05
DRAINS_POINTS: Final = 2.0
ZERO_BALANCE_POINTS: Final = 3.0
LEGIT_HOUR_POINTS: Final = 1.0
FRAUD_HOUR_POINTS: Final = 2.0

_BALANCES: Final = (
    ("oldbalanceOrg", "sender's balance before"),
    ("newbalanceOrig", "sender's balance after"),
    ("oldbalanceDest", "recipient's balance before"),
    ("newbalanceDest", "recipient's balance after"),
)


@dataclass
class Tally:
    """Weighted counts of the figures a fidelity report compares, added frame by frame."""

    rows: int = 0
    weight: float = 0.0
    type_weight: FloatArray = field(default_factory=lambda: np.zeros(len(TYPES)))
    fraud_weight: FloatArray = field(default_factory=lambda: np.zeros(len(TYPES)))
    amounts: FloatArray = field(default_factory=lambda: np.zeros((len(TYPES), _BINS)))
    drains: FloatArray = field(default_factory=lambda: np.zeros(2))  # legit, fraud
    zero: FloatArray = field(default_factory=lambda: np.zeros(len(_BALANCES)))
    merchant_rows_with_balance: int = 0
    hours: FloatArray = field(default_factory=lambda: np.zeros((2, 24)))  # legit, fraud
    last_step: int = 0

    def add(self, frame: pd.DataFrame, weights: FloatArray | None = None) -> None:
        """Count one frame of PaySim rows, each weighed by ``weights`` (1 without)."""
        if frame.empty:
            return
        w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=np.float64)
        kind = pd.Categorical(frame["type"].astype(str), categories=list(TYPES)).codes
        known = kind >= 0
        fraud = frame["isFraud"].to_numpy() == 1
        amount = frame["amount"].to_numpy(dtype=np.float64)
        self.rows += len(frame)
        self.weight += float(w[known].sum())
        self.type_weight += np.bincount(kind[known], weights=w[known], minlength=len(TYPES))
        self.fraud_weight += np.bincount(
            kind[known & fraud], weights=w[known & fraud], minlength=len(TYPES)
        )
        bins = np.clip(
            ((np.log10(np.maximum(amount, 0.01)) - _LOG_LOW) / _BIN).astype(int), 0, _BINS - 1
        )
        np.add.at(self.amounts, (kind[known], bins[known]), w[known])

        drains = np.abs(amount - frame["oldbalanceOrg"].to_numpy(dtype=np.float64)) < _CENT
        self.drains += [float(w[drains & ~fraud].sum()), float(w[drains & fraud].sum())]
        for index, (column, _) in enumerate(_BALANCES):
            self.zero[index] += float(w[frame[column].to_numpy(dtype=np.float64) == 0.0].sum())
        merchant = frame["nameDest"].astype(str).str.startswith("M").to_numpy()
        balanced = (frame["oldbalanceDest"].to_numpy() != 0) | (
            frame["newbalanceDest"].to_numpy() != 0
        )
        self.merchant_rows_with_balance += int((merchant & balanced).sum())
        hour = frame["step"].to_numpy() % 24
        self.hours[0] += np.bincount(hour[~fraud], weights=w[~fraud], minlength=24)
        self.hours[1] += np.bincount(hour[fraud], weights=w[fraud], minlength=24)
        self.last_step = max(self.last_step, int(frame["step"].max()))

    @property
    def fraud_total(self) -> float:
        return float(self.fraud_weight.sum())


@dataclass(frozen=True)
class Figure:
    """One compared figure: both values, the tolerance in words, and whether it holds."""

    name: str
    simulated: float
    real: float
    tolerance: str
    passed: bool
    unit: str = ""


@dataclass(frozen=True)
class FidelityReport:
    figures: list[Figure]
    simulated_rows: int
    real_rows: int

    @property
    def passed(self) -> bool:
        return all(figure.passed for figure in self.figures)

    @property
    def failures(self) -> list[Figure]:
        return [figure for figure in self.figures if not figure.passed]


def tally(frames: Iterable[pd.DataFrame]) -> Tally:
    """Tally unweighted frames (the simulated side)."""
    result = Tally()
    for frame in frames:
        result.add(frame)
    return result


def compare(simulated: Tally, real: Tally) -> FidelityReport:
    """Every figure of the report, simulated against real.

    Raises:
        FidelityError: either side has no rows, or the real side has no fraud.
    """
    if simulated.weight <= 0 or real.weight <= 0:
        raise FidelityError("a fidelity report needs rows on both sides: one of them is empty")
    if real.fraud_total <= 0:
        raise FidelityError(
            "the real rows hold no fraud, so the fraud figures cannot be compared: give a "
            "labelled PaySim file with its fraud rows"
        )
    figures: list[Figure] = []
    sim_share = simulated.type_weight / simulated.weight
    real_share = real.type_weight / real.weight
    for code, kind in enumerate(TYPES):
        figures.append(
            _points(f"share of {kind}", sim_share[code], real_share[code], TYPE_SHARE_POINTS)
        )

    figures.append(
        _relative(
            "fraud rate",
            simulated.fraud_total / simulated.weight,
            real.fraud_total / real.weight,
            FRAUD_RATE_RELATIVE,
        )
    )
    for code, kind in enumerate(TYPES):
        sim_rate = _ratio(simulated.fraud_weight[code], simulated.type_weight[code])
        real_rate = _ratio(real.fraud_weight[code], real.type_weight[code])
        figures.append(
            _relative(f"fraud rate of {kind}", sim_rate, real_rate, TYPE_FRAUD_RATE_RELATIVE)
        )

    for code, kind in enumerate(TYPES):
        if real.type_weight[code] <= 0 or simulated.type_weight[code] <= 0:
            figures.append(
                Figure(f"KS distance of log-amount, {kind}", np.nan, np.nan, f"≤ {KS_MAX}", False)
            )
            continue
        distance = _ks(simulated.amounts[code], real.amounts[code])
        figures.append(
            Figure(
                f"KS distance of log-amount, {kind}",
                distance,
                0.0,
                f"≤ {KS_MAX}",
                distance <= KS_MAX,
            )
        )

    sim_drains = _ratio(simulated.drains[1], simulated.fraud_total)
    real_drains = _ratio(real.drains[1], real.fraud_total)
    figures.append(
        _points("fraud rows: amount = balance before", sim_drains, real_drains, DRAINS_POINTS)
    )
    sim_legit_drains = _ratio(simulated.drains[0], simulated.weight - simulated.fraud_total)
    real_legit_drains = _ratio(real.drains[0], real.weight - real.fraud_total)
    figures.append(
        Figure(
            "legit rows: amount = balance before",
            sim_legit_drains * 100,
            real_legit_drains * 100,
            "= 0",
            sim_legit_drains == 0.0,
            unit="%",
        )
    )

    for index, (_, label) in enumerate(_BALANCES):
        figures.append(
            _points(
                f"zero {label}",
                simulated.zero[index] / simulated.weight,
                real.zero[index] / real.weight,
                ZERO_BALANCE_POINTS,
            )
        )
    figures.append(
        Figure(
            "merchant rows with a balance",
            float(simulated.merchant_rows_with_balance),
            float(real.merchant_rows_with_balance),
            "= 0",
            simulated.merchant_rows_with_balance == 0,
        )
    )

    for index, label, tolerance in (
        (0, "legit", LEGIT_HOUR_POINTS),
        (1, "fraud", FRAUD_HOUR_POINTS),
    ):
        sim_hours = simulated.hours[index] / max(simulated.hours[index].sum(), 1e-12)
        real_hours = real.hours[index] / max(real.hours[index].sum(), 1e-12)
        gap = float(np.max(np.abs(sim_hours - real_hours))) * 100
        figures.append(
            Figure(
                f"{label} hourly profile, largest gap",
                gap,
                0.0,
                f"≤ {tolerance:g} points",
                gap <= tolerance,
                unit="points",
            )
        )
    return FidelityReport(figures=figures, simulated_rows=simulated.rows, real_rows=real.rows)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else 0.0


def _points(name: str, simulated: float, real: float, points: float) -> Figure:
    gap = abs(simulated - real) * 100
    return Figure(
        name, simulated * 100, real * 100, f"± {points:g} points", gap <= points, unit="%"
    )


def _relative(name: str, simulated: float, real: float, share: float) -> Figure:
    if real == 0.0:
        return Figure(name, simulated * 100, 0.0, "= 0", simulated == 0.0, unit="%")
    passed = abs(simulated / real - 1.0) <= share
    return Figure(name, simulated * 100, real * 100, f"± {share:.0%} of real", passed, unit="%")


def _ks(first: FloatArray, second: FloatArray) -> float:
    """Kolmogorov-Smirnov distance of two weighted histograms on the same bins."""
    cdf_first = np.cumsum(first) / first.sum()
    cdf_second = np.cumsum(second) / second.sum()
    return float(np.max(np.abs(cdf_first - cdf_second)))
