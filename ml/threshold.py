"""Choosing the operating threshold from the cost of its mistakes.

A missed fraud costs its amount: the money leaves the victim's account. Freezing an honest
account costs a fixed sum, ``DEFAULT_FREEZE_COST``: the support call that unfreezes it and the
goodwill of a customer who could not pay. The threshold is the one with the lowest expected
cost on the validation rows, weighted by the sample weights so that each legit row stands for
as many honest customers as it represents.

The cost is not counted on the validation scores as they are, but on scores blurred by
``SCORE_NOISE`` in log-odds. Counted as they are, a few hundred validation frauds decide the
threshold alone: one odd fraud scoring just above the legit rows pulls it down to their edge
(nothing honest is frozen *on those rows*), and on the next steps the first legit rows that
score a little higher are frozen, each standing for 187 customers. Blurred, a threshold that
close to many legit rows is seen to cost their expected false alarms; a perfect separation
puts it well inside the gap, where the classes' tails balance; and a zero-amount fraud, which
costs nothing to miss, pulls on nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.special import ndtr

logger = logging.getLogger(__name__)

#: Cost of freezing one honest account, in the currency of the amounts. An assumption to set
#: per business: a support call of about 50 and the customer's lost goodwill, guessed at the
#: margin on a year of their payments, about 950. Set it with ``fds train --freeze-cost``.
DEFAULT_FREEZE_COST: Final = 1_000.0

#: How far, in log-odds, a score seen on validation may lie from the same kind of row's score
#: on later steps (one standard deviation: a factor of about 2.7 on the odds). Chosen before
#: measuring; 0.5 and 2 give thresholds within the same gap on the real PaySim sample.
SCORE_NOISE: Final = 1.0

#: Thresholds stay strictly inside (0, 1): the model file refuses 0 and 1.
_EDGE: Final = 1e-6

#: Candidate thresholds, evenly spaced in log-odds, and how many are costed at a time.
_GRID_POINTS: Final = 2000
_GRID_CHUNK: Final = 200


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold, its expected cost, and its mistakes on the rows it was chosen on."""

    threshold: float
    expected_cost: float
    missed_fraud_amount: float
    frozen_honest_weight: float
    freeze_cost: float
    score_noise: float

    @property
    def rule(self) -> str:
        return (
            "lowest expected cost: a missed fraud costs its amount, a frozen honest account "
            f"{self.freeze_cost:,.0f}, with the validation scores blurred by "
            f"{self.score_noise:g} in log-odds"
        )


def cost_threshold(
    labels: np.ndarray,
    scores: np.ndarray,
    amounts: np.ndarray,
    weights: np.ndarray | None = None,
    freeze_cost: float = DEFAULT_FREEZE_COST,
    score_noise: float = SCORE_NOISE,
) -> ThresholdChoice:
    """The threshold (flag when ``score >= threshold``) of lowest weighted expected cost.

    Raises:
        ValueError: ``freeze_cost`` or ``score_noise`` is not a positive finite number, or
            there are no rows.
    """
    for name, value in (("freeze cost", freeze_cost), ("score noise", score_noise)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} {value} must be a positive number")
    if len(scores) == 0:
        raise ValueError("no rows to choose a threshold on")
    weights = np.ones(len(labels)) if weights is None else weights
    fraud = labels == 1
    at_stake = amounts * weights * fraud
    honest = weights * ~fraud

    logits = _logit(scores)
    low = max(float(logits.min()) - 3 * score_noise, float(_logit(np.array([_EDGE]))[0]))
    high = min(float(logits.max()) + 3 * score_noise, float(_logit(np.array([1 - _EDGE]))[0]))
    grid = np.linspace(low, high, _GRID_POINTS)
    cost = np.empty(len(grid))
    for start in range(0, len(grid), _GRID_CHUNK):
        candidates = grid[start : start + _GRID_CHUNK, None]
        # The chance that each row, its score blurred, falls below each candidate (is let by).
        let_by = ndtr((candidates - logits[None, :]) / score_noise)
        cost[start : start + _GRID_CHUNK] = let_by @ at_stake + freeze_cost * (
            (1.0 - let_by) @ honest
        )
    threshold = float(np.clip(1 / (1 + np.exp(-grid[int(np.argmin(cost))])), _EDGE, 1 - _EDGE))

    flagged = scores >= threshold
    choice = ThresholdChoice(
        threshold=threshold,
        expected_cost=float(cost.min()),
        missed_fraud_amount=float(at_stake[~flagged].sum()),
        frozen_honest_weight=float(honest[flagged].sum()),
        freeze_cost=freeze_cost,
        score_noise=score_noise,
    )
    logger.info(
        "threshold %.4f: expected cost %.0f; on these rows %.0f of fraud missed, %.1f honest "
        "accounts frozen",
        threshold,
        choice.expected_cost,
        choice.missed_fraud_amount,
        choice.frozen_honest_weight,
    )
    return choice


def _logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, _EDGE, 1 - _EDGE)
    return np.asarray(np.log(clipped / (1 - clipped)))
