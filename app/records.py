"""The one schema of a transaction record on the stream.

A record is a PaySim row as JSON plus two fields the generator adds: ``tx_id``, unique per
transaction and the key every effect is made idempotent on, and ``sent_at``, the generator's
clock when it put the record, from which decision latency is measured. ``isFraud`` may travel
along as a label for measuring a replay; nothing that scores reads it, and its value never
decides whether a record is taken: a record without it, or with one that is not 0 or 1, is
decided like any other, unlabelled.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import InvalidRecordError
from ml.schema import normalise_type

#: A PaySim record is about 250 bytes; anything far larger is not a transaction.
MAX_RECORD_BYTES: Final = 4096

Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]

#: Amounts are in cents; a positive amount below one cent is not money, and a value such as
#: 1e-200 would pass as a number here but be refused by DynamoDB, stalling the shard.
_CENT = 0.01


class Transaction(BaseModel):
    """A transaction as it arrives on the stream."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    tx_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    step: int = Field(ge=0, le=1_000_000)
    type: str
    amount: Money
    nameOrig: str = Field(pattern=r"^C[0-9]{1,20}$")
    oldbalanceOrg: Money
    newbalanceOrig: Money | None = None
    nameDest: str = Field(pattern=r"^[CM][0-9]{1,20}$")
    oldbalanceDest: Money
    newbalanceDest: Money | None = None
    isFraud: int | None = Field(default=None, ge=0, le=1)
    isFlaggedFraud: int | None = Field(default=None, ge=0, le=1)
    sent_at: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("amount", "oldbalanceOrg", "oldbalanceDest")
    @classmethod
    def _whole_cents_or_zero(cls, value: float) -> float:
        if 0 < value < _CENT:
            raise ValueError(f"{value!r} is less than a cent; amounts are in cents or zero")
        return value

    @field_validator("isFraud", mode="before")
    @classmethod
    def _label_or_none(cls, value: object) -> object:
        # Refusing a record for a malformed label would let a field that nothing reads keep a
        # transaction from being decided (a set-aside record is never scored), so the label
        # is dropped instead. bool is excluded: True is not the label 1 in PaySim's format.
        return value if type(value) is int and value in (0, 1) else None

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        return normalise_type(value) if isinstance(value, str) else value


def parse_record(data: bytes) -> Transaction:
    """Validate one stream record.

    Raises:
        InvalidRecordError: with a reason naming the first problems (size, JSON, fields).
    """
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidRecordError(f"record of {len(data)} bytes exceeds {MAX_RECORD_BYTES}")
    try:
        return Transaction.model_validate_json(data)
    except ValidationError as error:
        raise InvalidRecordError(_summarise(error)) from error


def problem_with(row: dict[str, Any]) -> str | None:
    """Why the consumer would set this row aside, or None if it would take it.

    The generator checks its rows with this before sending, so a row the stream's schema
    refuses is reported at its source rather than sent to the dead-letter queue.
    """
    try:
        Transaction.model_validate({"tx_id": "row-check", **row})
    except ValidationError as error:
        return _summarise(error)
    return None


def _summarise(error: ValidationError) -> str:
    problems = []
    for detail in error.errors()[:3]:
        where = ".".join(str(part) for part in detail["loc"]) or "record"
        problems.append(f"{where}: {detail['msg']}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def encode_record(row: dict[str, Any]) -> bytes:
    """Serialise a transaction row as the generator puts it on the stream."""
    # allow_nan=False: a NaN would produce JSON that other readers reject; fail at the source.
    return json.dumps(row, separators=(",", ":"), allow_nan=False).encode()
