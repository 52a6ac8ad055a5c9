"""Choosing the operating threshold from the cost of its mistakes.

A missed fraud costs its amount: the money leaves the victim's account. Freezing an honest
account costs a fixed sum, ``DEFAULT_FREEZE_COST``: the support call that unfreezes it and the
goodwill of a customer who could not pay. The threshold is the one with the lowest expected
cost on the validation rows, weighted by the sample weights so that each legit row stands for
as many honest customers as it represents.

Any threshold between two neighbouring scores costs the same on the rows it was chosen on, and
a perfect separation leaves a wide gap between the highest legit score and the lowest fraud
score. The threshold is put in the middle of that gap, measured in log-odds, so that it keeps
the largest margin on both sides for rows it has not seen; the lowest end of the gap (which a
plain best-F1 search returns) would flag the first legit row that scores a little higher. When
several gaps are equally cheap, the widest is taken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np

logger = logging.getLogger(__name__)

#: Cost of freezing one honest account, in the currency of the amounts. An assumption to set
#: per business: a support call of about 50 and the customer's lost goodwill, guessed at the
#: margin on a year of their payments, about 950. Set it with ``fds train --freeze-cost``.
DEFAULT_FREEZE_COST: Final = 1_000.0

#: Thresholds stay strictly inside (0, 1): the model file refuses 0 and 1.
_EDGE: Final = 1e-6


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and the expected cost of its mistakes on the rows it was chosen on."""

    threshold: float
    cost: float
    missed_fraud_amount: float
    frozen_honest_weight: float
    freeze_cost: float

    @property
    def rule(self) -> str:
        return (
            "lowest expected cost: a missed fraud costs its amount, a "
            f"frozen honest account {self.freeze_cost:,.0f}; middle of the cheapest score gap "
            "in log-odds"
        )


def cost_threshold(
    labels: np.ndarray,
    scores: np.ndarray,
    amounts: np.ndarray,
    weights: np.ndarray | None = None,
    freeze_cost: float = DEFAULT_FREEZE_COST,
) -> ThresholdChoice:
    """The threshold (flag when ``score >= threshold``) of lowest weighted expected cost.

    Raises:
        ValueError: ``freeze_cost`` is not a positive finite number, or there are no rows.
    """
    if not (np.isfinite(freeze_cost) and freeze_cost > 0):
        raise ValueError(f"freeze cost {freeze_cost} must be a positive number")
    if len(scores) == 0:
        raise ValueError("no rows to choose a threshold on")
    weights = np.ones(len(labels)) if weights is None else weights
    fraud = labels == 1

    # Candidate i flags every distinct score from distinct[i] up; the last one flags nothing.
    distinct, group = np.unique(scores, return_inverse=True)
    missed_per_score = np.bincount(group, (amounts * weights) * fraud, len(distinct))
    honest_per_score = np.bincount(group, weights * ~fraud, len(distinct))
    missed = np.concatenate([[0.0], np.cumsum(missed_per_score)])
    frozen = np.concatenate([np.cumsum(honest_per_score[::-1])[::-1], [0.0]])
    cost = missed + freeze_cost * frozen

    # Several candidates can cost the same: a fraud of amount 0 costs nothing to miss, so
    # flagging it or not ties. Of the cheapest, take the one with the widest gap below it.
    edges = np.concatenate([[0.0], distinct, [1.0]])
    gaps = _logit(edges[1:]) - _logit(edges[:-1])
    cheapest = np.flatnonzero(cost <= cost.min() * (1 + 1e-12) + 1e-9)
    best = int(cheapest[np.argmax(gaps[cheapest])])

    below, above = float(edges[best]), float(edges[best + 1])
    threshold = _logit_middle(below, above)
    choice = ThresholdChoice(
        threshold=threshold,
        cost=float(cost[best]),
        missed_fraud_amount=float(missed[best]),
        frozen_honest_weight=float(frozen[best]),
        freeze_cost=freeze_cost,
    )
    logger.info(
        "threshold %.4f between scores %.4g and %.4g: expected cost %.0f",
        threshold,
        below,
        above,
        choice.cost,
    )
    return choice


def _logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, _EDGE, 1 - _EDGE)
    return np.asarray(np.log(clipped / (1 - clipped)))


def _logit_middle(low: float, high: float) -> float:
    """The point halfway between two probabilities in log-odds, kept inside (0, 1)."""
    middle = float(_logit(np.array([low, high])).mean())
    threshold = float(1 / (1 + np.exp(-middle)))
    # The middle of two neighbouring scores can round onto the lower one, which would flag it.
    if threshold <= low < high:
        threshold = float(np.nextafter(low, 1.0))
    return float(np.clip(threshold, _EDGE, 1 - _EDGE))
