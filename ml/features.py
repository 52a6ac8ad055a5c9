"""The one feature builder, shared by training and by the consumer.

Every feature is known when the transaction is authorised: the type, the amount, the step (the
hour it happens in), the recipient's kind, and the balances *before* the transaction. Nothing
here reads the label ``isFraud``, nor the columns that leak it: the balances written after the
transaction (``newbalanceOrig``, ``newbalanceDest``; PaySim's fraudulent transactions were
cancelled, so these show it) and ``isFlaggedFraud`` (set only on fraud rows). The builder takes
only the columns in ``INPUT_COLUMNS``; passing it a whole PaySim frame is safe because the rest
are never looked at.

Each feature is documented in ``FEATURE_DOCS``: what it is and why it helps. The model card
lists them from there, and a test holds that every feature has its entry.

Transaction types are normalised the way the CSV reader and the stream schema normalise them
(``ml.schema.normalise_type``: surrounding blanks and case are forgiven); anything else is
refused with ``UnknownTransactionTypeError`` rather than scored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from ml.errors import UnknownTransactionTypeError
from ml.schema import TRANSACTION_TYPES, normalise_type

logger = logging.getLogger(__name__)

#: The only columns the builder reads.
INPUT_COLUMNS: Final = ("step", "type", "amount", "oldbalanceOrg", "oldbalanceDest", "nameDest")

FEATURE_NAMES: Final = (
    *(f"type_{kind}" for kind in TRANSACTION_TYPES),
    "amount",
    "oldbalance_orig",
    "oldbalance_dest",
    "drains_sender",
    "amount_over_balance",
    "balance_left",
    "dest_empty",
    "dest_is_merchant",
    "hour_of_day",
    "full_chunk",
    "moves_nothing",
)

#: What each feature is and why it helps; every one is computed from ``INPUT_COLUMNS`` alone.
FEATURE_DOCS: Final[Mapping[str, str]] = {
    **{
        f"type_{kind}": f"1 for a {kind} (one-hot type). PaySim fraud happens only in TRANSFER "
        "and CASH_OUT."
        for kind in TRANSACTION_TYPES
    },
    "amount": "The amount. Large amounts are likelier fraud: fraud moves whole balances.",
    "oldbalance_orig": "The sender's balance before. A taken-over account is emptied.",
    "oldbalance_dest": "The recipient's balance before. Mule accounts are fresh and empty.",
    "drains_sender": "1 when the amount equals the sender's whole balance (to the cent). The "
    "fraudster's signature: in about 98 % of PaySim fraud, in no legit row.",
    "amount_over_balance": "The amount divided by the sender's balance (1 when both are zero, "
    "1e6 when an empty account pays something). Legit rows often spend a part, fraud exactly all.",
    "balance_left": "The sender's balance minus the amount: 0 for a drained account, negative "
    "when a legit customer overdraws.",
    "dest_empty": "1 when the recipient's balance before is zero (a fresh mule). Fraud TRANSFERs "
    "go to empty accounts in over 99 % of rows, legit TRANSFERs in about one in ten.",
    "dest_is_merchant": "1 for a merchant recipient (M...). Merchants only take PAYMENTs, never "
    "fraud.",
    "hour_of_day": "The step modulo 24. Legit traffic follows a day/night cycle, fraud is flat, "
    "so a transfer at 04:00 is more suspicious than one at 18:00.",
    "full_chunk": "1 when the amount is exactly PaySim's 10,000,000 cap on one transfer and the "
    "sender holds at least that much. A fraudster empties a larger balance in such chunks, "
    "which do not drain the sender; the few legit transfers of exactly 10,000,000 come from "
    "senders holding far less.",
    "moves_nothing": "1 when the amount is zero. PaySim has 16 fraud CASH_OUTs of amount 0 (a "
    "cash-out after the account was emptied) and no legit row of amount 0; without this flag "
    "such a row looks like the most harmless transaction there is.",
}

#: PaySim never moves more than this in one transfer: larger balances leave in chunks of it.
TRANSFER_CAP: Final = 10_000_000.0

#: Amounts are in cents at most; two balances closer than this are the same amount.
_CENT: Final = 0.005

FloatMatrix = npt.NDArray[np.float64]


def normalise_types(values: object) -> npt.NDArray[np.object_]:
    """The PaySim type of every value, by ``normalise_type``'s rules.

    Raises:
        UnknownTransactionTypeError: a value is not one of the five PaySim types (or not text);
            the message names up to five of them.
    """
    raw = np.asarray(values, dtype=object)
    normalised = np.empty(len(raw), dtype=object)
    bad: set[str] = set()
    # A stream batch or a CSV holds a handful of distinct spellings: normalise each once.
    for value in set(raw.tolist()):
        try:
            kind = normalise_type(value) if isinstance(value, str) else None
        except ValueError:
            kind = None
        if kind is None:
            bad.add(repr(value))
            continue
        normalised[raw == value] = kind
    if bad:
        raise UnknownTransactionTypeError(
            f"unknown transaction type(s) {', '.join(sorted(bad)[:5])}: expected one of "
            f"{', '.join(TRANSACTION_TYPES)}"
        )
    return normalised


def build_features(columns: Mapping[str, object]) -> FloatMatrix:
    """Build the feature matrix, one row per transaction, columns in ``FEATURE_NAMES`` order.

    Args:
        columns: a pandas frame or a mapping of column name to sequence, holding at least
            ``INPUT_COLUMNS``. Other columns are never read.

    Raises:
        UnknownTransactionTypeError: a type is not one of the five PaySim types.
        KeyError: an input column is missing.
    """
    kinds = normalise_types(columns["type"])
    amount = np.asarray(columns["amount"], dtype=np.float64)
    balance_orig = np.asarray(columns["oldbalanceOrg"], dtype=np.float64)
    balance_dest = np.asarray(columns["oldbalanceDest"], dtype=np.float64)
    step = np.asarray(columns["step"], dtype=np.int64)
    recipients = np.asarray(columns["nameDest"], dtype=object)

    one_hot = np.stack([kinds == kind for kind in TRANSACTION_TYPES], axis=1)
    drains = (np.abs(amount - balance_orig) < _CENT) & (amount > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(balance_orig > 0, amount / balance_orig, np.where(amount > 0, np.inf, 1.0))
    # Trees split on order, so any large stand-in for "no balance to spend from" works; a finite
    # one keeps the matrix free of inf, which some tools reject.
    ratio = np.minimum(ratio, 1e6)
    is_merchant = np.fromiter((str(name).startswith("M") for name in recipients), bool, len(kinds))
    full_chunk = (np.abs(amount - TRANSFER_CAP) < _CENT) & (balance_orig >= TRANSFER_CAP - _CENT)

    return np.column_stack(
        [
            one_hot.astype(np.float64),
            amount,
            balance_orig,
            balance_dest,
            drains.astype(np.float64),
            ratio,
            balance_orig - amount,
            (balance_dest < _CENT).astype(np.float64),
            is_merchant.astype(np.float64),
            (step % 24).astype(np.float64),
            full_chunk.astype(np.float64),
            (amount < _CENT).astype(np.float64),
        ]
    )
