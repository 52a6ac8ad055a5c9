"""Legit traffic: how many rows each step holds, and the rows themselves.

Legit volume follows PaySim's day/night cycle and its day-to-day swings (``HOUR_WEIGHTS`` and
``DAY_WEIGHTS``); each row is drawn on its own, with PaySim's bookkeeping of balances, quirks
included: a sender who spends more than the balance ends at zero, a CASH_IN lowers the agent's
balance, merchants show zero before and after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ml.simulator.accounts import (
    IntArray,
    TextArray,
    account_names,
    account_numbers,
    balances,
    from_quantiles,
)
from ml.simulator.params import (
    CASH_IN,
    CYCLE_STEPS,
    DAY_WEIGHTS,
    HOUR_WEIGHTS,
    LEGIT_AMOUNT,
    LEGIT_CAPPED_SHARE,
    LEGIT_RECIPIENT_BALANCE,
    LEGIT_RECIPIENT_STAYS_ZERO,
    LEGIT_RECIPIENT_ZERO,
    LEGIT_SENDER_BALANCE,
    LEGIT_SENDER_ZERO,
    LEGIT_TYPE_SHARES,
    PAYMENT,
    TRANSFER,
    TRANSFER_CAP,
    FloatArray,
)

logger = logging.getLogger(__name__)


@dataclass
class Rows:
    """Columns of simulated rows without their step; ``kind`` indexes ``params.TYPES``."""

    kind: IntArray
    amount: FloatArray
    name_orig: TextArray
    old_orig: FloatArray
    new_orig: FloatArray
    name_dest: TextArray
    old_dest: FloatArray
    new_dest: FloatArray
    is_fraud: IntArray
    is_flagged: IntArray

    def __len__(self) -> int:
        return len(self.kind)


def volume_weight(step: int) -> float:
    """Legit volume of ``step`` relative to the mean step of PaySim's steps 1-400.

    Steps past 400 repeat the day pattern of steps 1-400, so an endless stream keeps PaySim's
    mix of busy and quiet days; the hour of day always follows ``step % 24``, as the features
    read it.
    """
    day = ((step - 1) % CYCLE_STEPS) // 24
    return float(HOUR_WEIGHTS[step % 24] * DAY_WEIGHTS[day])


def legit_rows(rng: np.random.Generator, count: int) -> Rows:
    """``count`` legit rows, types in PaySim's shares, balances by PaySim's rules."""
    kind = rng.choice(len(LEGIT_TYPE_SHARES), size=count, p=LEGIT_TYPE_SHARES).astype(np.int64)
    amount = np.empty(count)
    old_orig = np.empty(count)
    old_dest = np.empty(count)
    for code in range(len(LEGIT_TYPE_SHARES)):
        mask = kind == code
        n = int(mask.sum())
        amount[mask] = from_quantiles(rng, LEGIT_AMOUNT[code], n)
        old_orig[mask] = balances(rng, LEGIT_SENDER_BALANCE[code], LEGIT_SENDER_ZERO[code], n)
        old_dest[mask] = balances(rng, LEGIT_RECIPIENT_BALANCE[code], LEGIT_RECIPIENT_ZERO[code], n)

    # A legit transfer above PaySim's cap often leaves as one capped chunk from an empty sender.
    capped = (kind == TRANSFER) & (amount > TRANSFER_CAP) & (rng.random(count) < LEGIT_CAPPED_SHARE)
    amount[capped] = TRANSFER_CAP
    old_orig[capped] = 0.0
    # No legit row of PaySim moves exactly the sender's balance: that is the fraud signature.
    old_orig = np.where(old_orig == amount, old_orig + 0.01, old_orig)

    cash_in = kind == CASH_IN
    new_orig = np.where(cash_in, old_orig + amount, np.maximum(old_orig - amount, 0.0))
    # On a CASH_IN the agent hands out e-money, so its balance goes down (clamped at zero).
    stays_zero = (old_dest == 0.0) & (rng.random(count) < LEGIT_RECIPIENT_STAYS_ZERO[kind])
    new_dest = np.where(cash_in, np.maximum(old_dest - amount, 0.0), old_dest + amount)
    new_dest = np.where(stays_zero, 0.0, new_dest)

    merchant = kind == PAYMENT
    old_dest[merchant] = 0.0
    new_dest[merchant] = 0.0
    zeros = np.zeros(count, dtype=np.int64)
    return Rows(
        kind=kind,
        amount=amount,
        name_orig=account_names("C", account_numbers(rng, count)),
        old_orig=old_orig,
        new_orig=np.round(new_orig, 2),
        name_dest=account_names(
            np.where(merchant, "M", "C").astype(object), account_numbers(rng, count)
        ),
        old_dest=old_dest,
        new_dest=np.round(new_dest, 2),
        is_fraud=zeros,
        is_flagged=zeros.copy(),
    )
