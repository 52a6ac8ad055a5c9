"""Fraud mechanics: account takeovers, as PaySim's fraudsters carry them out.

A fraudster takes over a customer account and empties it: a TRANSFER of the whole balance to a
fresh mule account (its balances read 0 before and after), then a CASH_OUT of the same amount
in the same step. One transfer never moves more than 10,000,000, so a larger balance leaves in
capped chunks, each cashed out; a takeover that needs three chunks or more is stopped before
the last transfer, which moves nothing and is the one ``isFlaggedFraud`` marks, and its
cash-out is of amount zero. A few fraud rows show a sender without a balance or a mule with
one, as PaySim's do.

One deliberate difference from PaySim's file: the chunks of one takeover keep the victim's
name, where PaySim names each row's sender afresh. They drain one account, and keeping its name
lets a detector that blocked the account refuse the next chunk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ml.simulator.accounts import account_names, account_numbers, balances, from_quantiles
from ml.simulator.params import (
    ACCOUNT_NUMBER_HIGH,
    CASH_OUT,
    FLAGGED_AFTER_CHUNKS,
    FRAUD_AGENT_BALANCE,
    FRAUD_AGENT_ZERO,
    FRAUD_CASH_OUT_UNFUNDED,
    FRAUD_MULE_FUNDED,
    FRAUD_TRANSFER_UNFUNDED,
    LEGIT_RECIPIENT_BALANCE,
    LEGIT_RECIPIENT_ZERO,
    QUANTILE_LEVELS,
    TRANSFER,
    TRANSFER_CAP,
    VICTIM_BALANCE,
    FloatArray,
)
from ml.simulator.traffic import Rows

logger = logging.getLogger(__name__)

#: The rows of one takeover lie within this share of the step: a fraudster empties an account
#: in one go, within the hour.
TAKEOVER_SPREAD = 0.01
#: A demo retry comes within this share of the step after the first drain (about a minute of
#: the simulated hour), so a detector's block on the account is in place but still recent.
RETRY_SPREAD = 0.02
_LAST_PLACE = np.nextafter(1.0, 0.0)


@dataclass(frozen=True)
class Takeovers:
    """Fraud rows of one step with their places in it (shares of the step, in [0, 1))."""

    rows: Rows
    places: FloatArray


def rows_per_takeover(retry_share: float = 0.0) -> float:
    """Expected fraud rows one takeover makes, from the victim-balance table.

    Each capped chunk is a TRANSFER and a CASH_OUT, and so is the remainder; a retry (the demo's
    knob) is a second takeover of the same account.
    """
    levels = (np.arange(100_000) + 0.5) / 100_000
    victims = np.power(10.0, np.interp(levels, QUANTILE_LEVELS, VICTIM_BALANCE))
    return float(np.mean(_row_counts(victims)) * (1.0 + retry_share))


def _row_counts(balance: FloatArray) -> FloatArray:
    chunks = np.floor(balance / TRANSFER_CAP)
    remainder = balance - chunks * TRANSFER_CAP > 0.005
    return 2.0 * (chunks + remainder)


def takeovers(rng: np.random.Generator, count: int, retry_share: float = 0.0) -> Takeovers:
    """The rows of ``count`` takeovers (and their retries), placed at random in the step."""
    columns: dict[str, list[object]] = {name: [] for name in _COLUMNS}
    places: list[float] = []
    victims = account_names("C", account_numbers(rng, count))
    for victim in victims.tolist():
        # Rows of one takeover keep their order (a transfer before its cash-out, chunk after
        # chunk) and follow each other closely, with legit rows between them.
        made = _drain(rng, victim, columns)
        mine = rng.random() * (1.0 - TAKEOVER_SPREAD) + np.sort(rng.random(made)) * TAKEOVER_SPREAD
        places.extend(mine.tolist())
        if rng.random() < retry_share:
            # The retry follows soon after, while the account is still the fraudster's.
            again = mine[-1] + np.sort(rng.random(_drain(rng, victim, columns))) * RETRY_SPREAD
            places.extend(np.minimum(again, _LAST_PLACE).tolist())
    rows = Rows(
        kind=np.array(columns["kind"], dtype=np.int64),
        amount=np.array(columns["amount"], dtype=np.float64),
        name_orig=np.array(columns["name_orig"], dtype=object),
        old_orig=np.array(columns["old_orig"], dtype=np.float64),
        new_orig=np.array(columns["new_orig"], dtype=np.float64),
        name_dest=np.array(columns["name_dest"], dtype=object),
        old_dest=np.array(columns["old_dest"], dtype=np.float64),
        new_dest=np.array(columns["new_dest"], dtype=np.float64),
        is_fraud=np.ones(len(places), dtype=np.int64),
        is_flagged=np.array(columns["is_flagged"], dtype=np.int64),
    )
    return Takeovers(rows=rows, places=np.array(places, dtype=np.float64))


_COLUMNS = (
    "kind",
    "amount",
    "name_orig",
    "old_orig",
    "new_orig",
    "name_dest",
    "old_dest",
    "new_dest",
    "is_flagged",
)


def _drain(rng: np.random.Generator, victim: str, columns: dict[str, list[object]]) -> int:
    """Append the rows that empty one account; return how many."""
    balance = float(from_quantiles(rng, VICTIM_BALANCE, 1)[0])
    chunks = int(balance // TRANSFER_CAP)
    made = 0
    for _ in range(chunks):
        _transfer(rng, columns, victim, TRANSFER_CAP, balance, round(balance - TRANSFER_CAP, 2))
        _cash_out(rng, columns, TRANSFER_CAP)
        balance = round(balance - TRANSFER_CAP, 2)
        made += 2
    if balance < 0.005:
        return made
    if chunks >= FLAGGED_AFTER_CHUNKS:
        # Stopped: nothing moves, so the sender keeps the balance and nothing is cashed out.
        _transfer(rng, columns, victim, balance, balance, balance, flagged=True)
        _append(columns, CASH_OUT, 0.0, _fresh(rng), 0.0, 0.0, _fresh(rng), 0.0, 0.0)
        return made + 2
    if chunks == 0 and rng.random() < FRAUD_TRANSFER_UNFUNDED:
        _transfer(rng, columns, victim, balance, 0.0, 0.0)
    else:
        _transfer(rng, columns, victim, balance, balance, 0.0)
    _cash_out(rng, columns, balance)
    return made + 2


def _transfer(
    rng: np.random.Generator,
    columns: dict[str, list[object]],
    victim: str,
    amount: float,
    old_orig: float,
    new_orig: float,
    *,
    flagged: bool = False,
) -> None:
    old_dest = new_dest = 0.0
    if not flagged and rng.random() < FRAUD_MULE_FUNDED:
        old_dest = float(
            balances(rng, LEGIT_RECIPIENT_BALANCE[TRANSFER], LEGIT_RECIPIENT_ZERO[TRANSFER], 1)[0]
        )
        new_dest = round(old_dest + amount, 2)
    _append(
        columns, TRANSFER, amount, victim, old_orig, new_orig, _fresh(rng), old_dest, new_dest,
        flagged=flagged,
    )  # fmt: skip


def _cash_out(rng: np.random.Generator, columns: dict[str, list[object]], amount: float) -> None:
    # PaySim's cash-out comes from an account of its own, not from the mule's name.
    funded = rng.random() >= FRAUD_CASH_OUT_UNFUNDED
    agent = float(balances(rng, FRAUD_AGENT_BALANCE, FRAUD_AGENT_ZERO, 1)[0])
    _append(
        columns,
        CASH_OUT,
        amount,
        _fresh(rng),
        amount if funded else 0.0,
        0.0,
        _fresh(rng),
        agent,
        round(agent + amount, 2),
    )


def _fresh(rng: np.random.Generator) -> str:
    return f"C{int(rng.integers(1, ACCOUNT_NUMBER_HIGH))}"


def _append(
    columns: dict[str, list[object]],
    kind: int,
    amount: float,
    name_orig: str,
    old_orig: float,
    new_orig: float,
    name_dest: str,
    old_dest: float,
    new_dest: float,
    *,
    flagged: bool = False,
) -> None:
    values = (kind, amount, name_orig, old_orig, new_orig, name_dest, old_dest, new_dest)
    for name, value in zip(_COLUMNS, (*values, int(flagged)), strict=True):
        columns[name].append(value)
