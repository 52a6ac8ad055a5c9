"""A small, seeded generator of PaySim-like transactions, for demos and tests.

It is not a simulator: rows are drawn independently, except for the two patterns FDS cares
about, the account takeover (a TRANSFER of the whole balance to a fresh mule, then a CASH_OUT of
the same amount by the mule) and a later retry by the same taken-over account, which FDS should
refuse because it blocked that sender.

``fraud_rate`` is the probability that an *event* is a takeover. A legit event is one row, a
takeover is two rows, and retries are extra rows, so the share of ``isFraud`` rows is higher
than ``fraud_rate`` (about ``fraud_rate * (2 + retry_after_block)`` for small rates).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterator

import numpy as np

logger = logging.getLogger(__name__)

Row = dict[str, object]

TYPES = ("CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT")
# PaySim's shares (they sum to 100.05%, hence the normalisation).
_SHARES = np.array([35.0, 34.0, 22.0, 8.4, 0.65])
_SHARES /= _SHARES.sum()
# Lognormal (median, sigma) per type, in TYPES order: transfers are large, payments small.
_MU = np.log([180_000.0, 12_000.0, 150_000.0, 500_000.0, 5_000.0])
_SIGMA = np.array([1.0, 1.0, 1.0, 1.2, 0.9])
_PAYMENT, _CASH_IN = TYPES.index("PAYMENT"), TYPES.index("CASH_IN")

ROWS_PER_STEP = 500  # one step is one simulated hour; short enough that a run shows several
FRAUD_CAP = 10_000_000.0  # PaySim never moves more than this in one fraudulent transfer
MAX_PENDING_RETRIES = 1_000  # bounds memory whatever the arguments
_BLOCK = 1_024  # legit rows are drawn this many at a time: numpy per row would be slow
_NAME_LOW, _NAME_HIGH = 100_000_000, 10_000_000_000  # 9 or 10 digits, as in PaySim


def synthetic_transactions(
    *, seed: int | None = None, fraud_rate: float = 0.02, retry_after_block: float = 0.5
) -> Iterator[Row]:
    """Yield PaySim-format rows forever; the same ``seed`` gives the same rows."""
    # Checked here, not in the generator body, so a bad call fails at once, not at first next().
    for name, value in (("fraud_rate", fraud_rate), ("retry_after_block", retry_after_block)):
        if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be within [0, 1], got {value!r}")
    logger.debug(
        "synthetic source: seed=%s fraud_rate=%s retry=%s", seed, fraud_rate, retry_after_block
    )
    return _generate(np.random.default_rng(seed), float(fraud_rate), float(retry_after_block))


def _generate(rng: np.random.Generator, fraud_rate: float, retry: float) -> Iterator[Row]:
    emitted = 0
    # Retries waiting to be emitted: (due row index, tie-breaker, taken-over account).
    pending: list[tuple[int, int, str]] = []
    scheduled = 0
    while True:
        legit, is_takeover = _legit_block(rng), (rng.random(_BLOCK) < fraud_rate).tolist()
        for i in range(_BLOCK):
            while pending and pending[0][0] <= emitted:
                account = heapq.heappop(pending)[2]
                yield _retry(rng, _step(emitted), account)
                emitted += 1
            step = _step(emitted)  # taken once per event, so both takeover rows share it
            if not is_takeover[i]:
                yield {"step": step, **legit[i]}
                emitted += 1
                continue
            victim = _name(rng, "C")
            yield from _takeover(rng, step, victim)
            emitted += 2
            if rng.random() < retry:
                if len(pending) < MAX_PENDING_RETRIES:
                    due = emitted + int(rng.integers(5, 51))
                    heapq.heappush(pending, (due, scheduled, victim))
                    scheduled += 1
                else:  # unreachable today (retries fall due within 50 rows); a hard guarantee
                    logger.debug("retry queue full, dropping the retry of %s", victim)


def _step(emitted: int) -> int:
    return 1 + emitted // ROWS_PER_STEP


def _name(rng: np.random.Generator, prefix: str) -> str:
    return f"{prefix}{int(rng.integers(_NAME_LOW, _NAME_HIGH))}"


def _balance(rng: np.random.Generator, median: float, sigma: float) -> float:
    return max(round(float(rng.lognormal(math.log(median), sigma)), 2), 0.01)


def _legit_block(rng: np.random.Generator) -> list[Row]:
    """Draw ``_BLOCK`` legit rows (without ``step``) in one go."""
    kind = rng.choice(len(TYPES), size=_BLOCK, p=_SHARES)
    amount = np.maximum(np.round(rng.lognormal(_MU[kind], _SIGMA[kind]), 2), 0.01)
    # Drawn independently of the amount: sometimes the amount exceeds it, as in real PaySim,
    # and about a third of senders start empty (PaySim has many zero balances too).
    old_orig = np.round(rng.lognormal(np.log(80_000.0), 1.5, _BLOCK), 2)
    old_orig[rng.random(_BLOCK) < 0.3] = 0.0
    # A legit row moving exactly the whole balance would look like the takeover signature,
    # which real legit rows never show; a cent more breaks the tie.
    amount = np.where(amount == old_orig, amount + 0.01, amount)
    cash_in = kind == _CASH_IN
    new_orig = np.round(np.where(cash_in, old_orig + amount, np.maximum(old_orig - amount, 0)), 2)
    old_dest = np.round(rng.lognormal(np.log(300_000.0), 1.5, _BLOCK), 2)
    old_dest[rng.random(_BLOCK) < 0.35] = 0.0
    # On a CASH_IN the agent hands e-money to the sender, so the agent's balance goes down.
    new_dest = np.round(np.where(cash_in, np.maximum(old_dest - amount, 0), old_dest + amount), 2)
    payment = kind == _PAYMENT
    old_dest[payment] = new_dest[payment] = 0.0  # PaySim keeps no balance for merchants
    orig_ids = rng.integers(_NAME_LOW, _NAME_HIGH, _BLOCK).tolist()
    dest_ids = rng.integers(_NAME_LOW, _NAME_HIGH, _BLOCK).tolist()
    # tolist() turns numpy scalars into plain int/float, which json and boto3 expect.
    columns = zip(
        kind.tolist(),
        amount.tolist(),
        orig_ids,
        old_orig.tolist(),
        new_orig.tolist(),
        dest_ids,
        old_dest.tolist(),
        new_dest.tolist(),
        payment.tolist(),
        strict=True,
    )
    return [
        {
            "type": TYPES[k],
            "amount": a,
            "nameOrig": f"C{o}",
            "oldbalanceOrg": ob,
            "newbalanceOrig": nb,
            "nameDest": f"{'M' if p else 'C'}{d}",
            "oldbalanceDest": od,
            "newbalanceDest": nd,
            "isFraud": 0,
            "isFlaggedFraud": 0,
        }
        for k, a, o, ob, nb, d, od, nd, p in columns
    ]


def _row(
    step: int,
    kind: str,
    amount: float,
    orig: str,
    old_orig: float,
    dest: str,
    old_dest: float,
    new_dest: float,
) -> Row:
    """A fraud row: the sender is always left with what the (capped) amount did not take."""
    return {
        "step": step,
        "type": kind,
        "amount": amount,
        "nameOrig": orig,
        "oldbalanceOrg": old_orig,
        "newbalanceOrig": round(old_orig - amount, 2),
        "nameDest": dest,
        "oldbalanceDest": old_dest,
        "newbalanceDest": new_dest,
        "isFraud": 1,
        "isFlaggedFraud": 0,
    }


def _takeover(rng: np.random.Generator, step: int, victim: str) -> tuple[Row, Row]:
    balance = _balance(rng, 300_000.0, 1.3)
    amount, mule = min(balance, FRAUD_CAP), _name(rng, "C")
    agent = _balance(rng, 300_000.0, 1.5)
    # Like PaySim, the mule's balances read 0 before and after the transfer.
    return (
        _row(step, "TRANSFER", amount, victim, balance, mule, 0.0, 0.0),
        _row(
            step, "CASH_OUT", amount, mule, amount, _name(rng, "C"), agent, round(agent + amount, 2)
        ),
    )


def _retry(rng: np.random.Generator, step: int, account: str) -> Row:
    """The victim has received new funds since the takeover; the fraudster tries to drain them."""
    balance = _balance(rng, 300_000.0, 1.3)
    amount = min(balance, FRAUD_CAP)
    if rng.random() < 0.5:
        return _row(step, "TRANSFER", amount, account, balance, _name(rng, "C"), 0.0, 0.0)
    agent = _balance(rng, 300_000.0, 1.5)
    return _row(
        step, "CASH_OUT", amount, account, balance, _name(rng, "C"), agent, round(agent + amount, 2)
    )
