"""The one feature builder, shared by training and by the consumer.

Every feature is known when the transaction is authorised: the type, the amount, the step (the
hour it happens in), the recipient's kind, and the balances *before* the transaction. The columns
written after it (``newbalanceOrig``, ``newbalanceDest``) and ``isFlaggedFraud`` leak the label in
PaySim, whose fraudulent transactions were cancelled, so nothing here reads them. The builder
takes only the columns in ``INPUT_COLUMNS``; passing it a whole PaySim frame is safe because the
rest are never looked at.

Features, and why each helps:

- ``type_<TYPE>``: one-hot transaction type. PaySim fraud happens only in TRANSFER and CASH_OUT.
- ``amount``: large amounts are likelier fraud; fraud moves whole balances.
- ``oldbalance_orig``: the sender's balance before; a taken-over account is emptied.
- ``oldbalance_dest``: the recipient's balance before; mule accounts are fresh and empty.
- ``drains_sender``: 1 when the amount equals the sender's whole balance (to the cent). The
  fraudster's signature: in about 98 % of PaySim fraud, in no legit row.
- ``amount_over_balance``: amount divided by the sender's balance (1 when both are zero):
  legit rows often spend a part, fraud exactly all.
- ``balance_left``: sender's balance minus the amount; 0 for a drained account, negative when a
  legit customer overdraws.
- ``dest_empty``: 1 when the recipient's balance before is zero (a fresh mule).
- ``dest_is_merchant``: 1 for ``M…`` recipients; merchants only take PAYMENTs, never fraud.
- ``hour_of_day``: ``step`` modulo 24. Legit traffic follows a day/night cycle, fraud is flat, so
  a transfer at 04:00 is more suspicious than one at 18:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from ml.errors import UnknownTransactionTypeError
from ml.schema import TRANSACTION_TYPES

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
)

#: Amounts are in cents at most; two balances closer than this are the same amount.
_CENT: Final = 0.005

FloatMatrix = npt.NDArray[np.float64]


def build_features(columns: Mapping[str, object]) -> FloatMatrix:
    """Build the feature matrix, one row per transaction, columns in ``FEATURE_NAMES`` order.

    Args:
        columns: a pandas frame or a mapping of column name to sequence, holding at least
            ``INPUT_COLUMNS``. Transaction types must already be upper-case PaySim types.

    Raises:
        UnknownTransactionTypeError: a type is not one of the five PaySim types.
        KeyError: an input column is missing.
    """
    kinds = np.asarray(columns["type"], dtype=object)
    amount = np.asarray(columns["amount"], dtype=np.float64)
    balance_orig = np.asarray(columns["oldbalanceOrg"], dtype=np.float64)
    balance_dest = np.asarray(columns["oldbalanceDest"], dtype=np.float64)
    step = np.asarray(columns["step"], dtype=np.int64)
    recipients = np.asarray(columns["nameDest"], dtype=object)

    one_hot = np.stack([kinds == kind for kind in TRANSACTION_TYPES], axis=1)
    unknown = ~one_hot.any(axis=1)
    if unknown.any():
        bad = sorted({str(value) for value in kinds[unknown]})[:5]
        raise UnknownTransactionTypeError(
            f"unknown transaction type(s) {bad}: expected one of {', '.join(TRANSACTION_TYPES)}"
        )

    drains = (np.abs(amount - balance_orig) < _CENT) & (amount > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(balance_orig > 0, amount / balance_orig, np.where(amount > 0, np.inf, 1.0))
    # Trees split on order, so any large stand-in for "no balance to spend from" works; a finite
    # one keeps the matrix free of inf, which some tools reject.
    ratio = np.minimum(ratio, 1e6)
    is_merchant = np.fromiter((str(name).startswith("M") for name in recipients), bool, len(kinds))

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
        ]
    )
