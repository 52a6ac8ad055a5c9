"""What the consumer decides for each transaction, and the rule that decides it.

The rule is the product: a sender already on the block list is refused without scoring; a
transaction scoring at or above the model's threshold is fraud and blocks its sender, so later
transactions of that sender in the same batch are refused too; everything else is normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import numpy as np

from app.records import Transaction
from ml.explain import Reason


class Verdict(StrEnum):
    NORMAL = "normal"
    FRAUD = "fraud"
    REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    """One transaction's decision, as written to the decisions log."""

    tx_id: str
    account: str
    recipient: str
    amount: float
    type: str
    step: int
    verdict: Verdict
    score: float | None
    threshold: float
    model_version: str
    shard_id: str
    sequence_number: str
    label: int | None
    sent_at: float | None
    received_at: float
    decided_at: float
    #: Why a fraud is fraud, strongest first (``ml.explain``); empty for every other verdict.
    reasons: tuple[Reason, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every field and showed up as a fifth of the consumer's
        # time in a profile; the other fields are flat, so a plain read is enough.
        record = {name: getattr(self, name) for name in _FLAT_FIELDS}
        record["reasons"] = [reason.to_json_dict() for reason in self.reasons]
        return record

    def reasons_in_words(self) -> str:
        """The reasons as one phrase: "a, b and c"; empty when there are none."""
        return in_words([reason.words for reason in self.reasons])


_FLAT_FIELDS = tuple(field.name for field in fields(Decision) if field.name != "reasons")


def in_words(phrases: list[str]) -> str:
    """Phrases joined as a sentence would: "a", "a and b", "a, b and c"."""
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


@dataclass(frozen=True)
class StreamRecord:
    """A valid transaction with where it came from on the stream."""

    transaction: Transaction
    shard_id: str
    sequence_number: str


@dataclass(frozen=True)
class Blocker:
    """The transaction that put an account on the block list, and where it was on the stream.

    The place is empty for entries written without one (by an operator, or by an older
    consumer), which then block every transaction of the account.
    """

    tx_id: str
    shard_id: str = ""
    sequence_number: str = ""

    def blocks(self, record: StreamRecord) -> bool:
        """Whether ``record`` is refused because of this block.

        Delivery is at least once: the blocking transaction itself can come round again (a
        retried batch, a restarted consumer) and must be decided as fraud again, or its
        logged decision would change and its alert could be lost. So must every transaction
        read before it on its shard: a replay that refused them would rewrite their logged
        decisions after the fact.
        """
        if record.transaction.tx_id == self.tx_id:
            return False
        if record.shard_id == self.shard_id and self.sequence_number:
            return int(record.sequence_number) > int(self.sequence_number)
        return True


def decide(
    records: list[StreamRecord],
    scores: dict[str, float],
    blocked: Mapping[str, Blocker],
    *,
    threshold: float,
    model_version: str,
    received_at: float,
    decided_at: float,
) -> list[Decision]:
    """Apply the rule in stream order.

    Args:
        records: the batch's valid transactions, in the order they were read.
        scores: fraud score per transaction id, for those that were scored.
        blocked: senders on the block list before this batch, each with the transaction that
            blocked it.
    """
    newly_blocked: set[str] = set()
    decisions = []
    for record in records:
        tx = record.transaction
        score = scores.get(tx.tx_id)
        if is_refused(record, blocked) or tx.nameOrig in newly_blocked:
            verdict, score = Verdict.REFUSED, None
        elif score is not None and score >= threshold:
            verdict = Verdict.FRAUD
            newly_blocked.add(tx.nameOrig)
        else:
            verdict = Verdict.NORMAL
        decisions.append(
            Decision(
                tx_id=tx.tx_id,
                account=tx.nameOrig,
                recipient=tx.nameDest,
                amount=tx.amount,
                type=tx.type,
                step=tx.step,
                verdict=verdict,
                score=None if score is None else round(float(score), 6),
                threshold=threshold,
                model_version=model_version,
                shard_id=record.shard_id,
                sequence_number=record.sequence_number,
                label=tx.isFraud,
                sent_at=tx.sent_at,
                received_at=received_at,
                decided_at=decided_at,
            )
        )
    return decisions


def is_refused(record: StreamRecord, blocked: Mapping[str, Blocker]) -> bool:
    """True when the sender is blocked by a transaction that came before this one."""
    blocker = blocked.get(record.transaction.nameOrig)
    return blocker is not None and blocker.blocks(record)


def scoring_columns(transactions: list[Transaction]) -> dict[str, np.ndarray]:
    """The feature builder's input columns for a batch; the label is deliberately not among them."""
    return {
        "step": np.fromiter((tx.step for tx in transactions), np.int64, len(transactions)),
        "type": np.array([tx.type for tx in transactions], dtype=object),
        "amount": np.fromiter((tx.amount for tx in transactions), np.float64, len(transactions)),
        "oldbalanceOrg": np.fromiter(
            (tx.oldbalanceOrg for tx in transactions), np.float64, len(transactions)
        ),
        "oldbalanceDest": np.fromiter(
            (tx.oldbalanceDest for tx in transactions), np.float64, len(transactions)
        ),
        "nameDest": np.array([tx.nameDest for tx in transactions], dtype=object),
    }
