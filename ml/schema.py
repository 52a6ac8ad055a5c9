"""The PaySim transaction format: its columns, their types and the known transaction types."""

from __future__ import annotations

from typing import Final

#: Transaction types of PaySim, in the order the features one-hot encode them.
TRANSACTION_TYPES: Final = ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER")

#: Every column of a PaySim CSV with the type it is read as.
PAYSIM_DTYPES: Final[dict[str, str]] = {
    "step": "int64",
    "type": "str",
    "amount": "float64",
    "nameOrig": "str",
    "oldbalanceOrg": "float64",
    "newbalanceOrig": "float64",
    "nameDest": "str",
    "oldbalanceDest": "float64",
    "newbalanceDest": "float64",
    "isFraud": "int64",
    "isFlaggedFraud": "int64",
}

PAYSIM_COLUMNS: Final = tuple(PAYSIM_DTYPES)

#: The label, and the columns that are only known after the transaction went through (the data
#: set's fraudulent transactions were cancelled, so these leak the label). No feature reads them.
LABEL_COLUMN: Final = "isFraud"
POST_TRANSACTION_COLUMNS: Final = ("newbalanceOrig", "newbalanceDest", "isFlaggedFraud")


def normalise_type(value: str) -> str:
    """Upper-case and strip a transaction type; raise ``ValueError`` if it is not a known one.

    Only case and surrounding blanks are forgiven: a misspelling such as ``CASH-OUT`` is refused
    rather than guessed, because a wrong guess would be scored silently.
    """
    normalised = value.strip().upper()
    if normalised not in TRANSACTION_TYPES:
        raise ValueError(
            f"unknown transaction type {value!r}: expected one of {', '.join(TRANSACTION_TYPES)}"
        )
    return normalised
