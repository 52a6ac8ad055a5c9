"""The consumer's effects on AWS: the block list, the alerts, the decisions log, the dead letters.

Each is batched where the API allows it, because per-record calls would cap the consumer at a
few hundred transactions per second, and each is safe to repeat: the block-list write is
conditional on the account, and a decisions-log object is named after its batch's first
sequence number, so a batch replayed with the same bounds overwrites its object. A batch cut
differently after a crash writes a second object; readers take one decision per transaction id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

from botocore.exceptions import ClientError

from app.aws import AwsClients
from app.consumer.decisions import Decision
from app.resources import Resources

logger = logging.getLogger(__name__)

_BATCH_GET_LIMIT: Final = 100
_PUBLISH_BATCH_LIMIT: Final = 10
_SQS_BATCH_LIMIT: Final = 10
#: A dead letter keeps this much of the bad payload: enough to see what it was, and ten of them
#: stay under SQS's 256 KiB per batch.
_DEAD_LETTER_PAYLOAD_BYTES: Final = 8192
_RETRIES: Final = 5
_CENTS: Final = Decimal("0.01")

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_decimal(value: float) -> Decimal:
    """A DynamoDB number: boto3 refuses float, and Decimal(float) carries binary noise."""
    return Decimal(repr(float(value)))


def as_money(value: float) -> Decimal:
    """An amount as a DynamoDB number of whole cents."""
    return as_decimal(value).quantize(_CENTS)


@dataclass(frozen=True)
class RejectedRecord:
    """A record set aside, with where it came from and why."""

    reason: str
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes


#: Where the decisions log's objects live in its bucket: one per batch, per shard.
DECISIONS_PREFIX = "decisions/"

#: States of a block-list entry's alert: written pending with the block, sent once published.
ALERT_PENDING = "pending"
ALERT_SENT = "sent"


class Effects:
    """Writes the consumer's decisions into the world."""

    def __init__(self, clients: AwsClients, resources: Resources) -> None:
        self._clients = clients
        self._resources = resources
        self._names = resources.names
        self._writers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="block-writes")

    def warm_up(self) -> None:
        """Touch every resource once before the first record.

        The first call of each kind loads botocore's service model and opens a connection,
        which costs tens of milliseconds; paid here, it stays off the first decisions. A
        missing resource or permission also shows up now, at start, instead of mid-stream.
        """
        self.blocked_among({"C0"})
        self._clients.s3.head_bucket(Bucket=self._names.decisions_bucket)
        self._clients.sns.get_topic_attributes(TopicArn=self._resources.alerts_topic_arn)
        self._clients.sqs.get_queue_attributes(
            QueueUrl=self._resources.dead_letter_url, AttributeNames=["QueueArn"]
        )

    def blocked_among(self, accounts: set[str]) -> dict[str, str]:
        """Senders of these that are on the block list, with the transaction that blocked each."""
        blocked: dict[str, str] = {}
        table = self._names.blocklist_table
        for part in chunks(sorted(accounts), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                table: {
                    "Keys": [{"account": {"S": account}} for account in part],
                    "ProjectionExpression": "account, tx_id",
                }
            }
            for attempt in range(_RETRIES + 1):
                response = self._clients.dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"][table]:
                    blocked[item["account"]["S"]] = item.get("tx_id", {}).get("S", "")
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                _backoff(attempt)
            else:
                raise RuntimeError(f"block-list lookup in {table} kept returning unprocessed keys")
        return blocked

    def scan_blocklist(self) -> dict[str, str]:
        """The whole block list: account → the transaction that blocked it."""
        blocked: dict[str, str] = {}
        paginator = self._clients.dynamodb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._names.blocklist_table, ProjectionExpression="account, tx_id"
        )
        for page in pages:
            for item in page["Items"]:
                blocked[item["account"]["S"]] = item.get("tx_id", {}).get("S", "")
        return blocked

    def block(self, frauds: Sequence[Decision]) -> list[Decision]:
        """Put the senders on the block list; returns the frauds whose alert is still owed.

        The block-list entry doubles as the alert's outbox: it is written with
        ``alert_state = pending`` and marked ``sent`` once the alert is published
        (``mark_alerted``). A replayed fraud finds its own entry: still pending means the alert
        never went out (a crash in between), so it is owed again; sent means it is not. An
        entry written by another transaction owes this one no alert.

        One conditional write per account, all in flight together. A transaction
        (TransactWriteItems) would take one call, but the local server copies the whole table
        for every item of a transaction, which grows with the block list; on AWS it would
        also cost twice the write capacity.
        """
        owed = self._writers.map(self._block_one, frauds)
        return [decision for decision, alert in zip(frauds, owed, strict=True) if alert]

    def _block_one(self, decision: Decision) -> bool:
        """Block the sender; True if this transaction's alert has not been sent."""
        try:
            self._clients.dynamodb.put_item(**self._block_put(decision))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # Already blocked: by this transaction before (a replay), or by another one.
            existing = error.response.get("Item", {})
            return bool(
                existing.get("tx_id", {}).get("S") == decision.tx_id
                and existing.get("alert_state", {}).get("S") != ALERT_SENT
            )
        return True

    def _block_put(self, decision: Decision) -> dict[str, Any]:
        return {
            "TableName": self._names.blocklist_table,
            "Item": {
                "account": {"S": decision.account},
                "tx_id": {"S": decision.tx_id},
                "amount": {"N": str(as_money(decision.amount))},
                "score": {"N": str(as_decimal(decision.score or 0.0))},
                "model_version": {"S": decision.model_version},
                "blocked_at": {"N": str(as_decimal(round(decision.decided_at, 3)))},
                "alert_state": {"S": ALERT_PENDING},
            },
            "ConditionExpression": "attribute_not_exists(account)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def mark_alerted(self, frauds: Sequence[Decision]) -> None:
        """Record on each block-list entry that its alert went out, so a replay sends none.

        An entry that is gone (an operator unblocked the account meanwhile) or belongs to
        another transaction is left alone. The marks go one after another, not side by side:
        they are off the decision path, and a burst of frauds marked all at once would queue
        the next batches' reads and writes behind it.
        """
        for decision in frauds:
            self._mark_one(decision)

    def _mark_one(self, decision: Decision) -> None:
        try:
            self._clients.dynamodb.update_item(
                TableName=self._names.blocklist_table,
                Key={"account": {"S": decision.account}},
                UpdateExpression="SET alert_state = :sent, alerted_at = :now",
                ConditionExpression="tx_id = :tx",
                ExpressionAttributeValues={
                    ":sent": {"S": ALERT_SENT},
                    ":now": {"N": str(as_decimal(round(time.time(), 3)))},
                    ":tx": {"S": decision.tx_id},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def publish_alerts(self, frauds: Sequence[Decision]) -> None:
        """Alert the operators of each fraud through the SNS topic, ten per call."""
        for part in chunks(frauds, _PUBLISH_BATCH_LIMIT):
            entries = [
                {"Id": str(index), "Message": json.dumps(alert_message(decision))}
                for index, decision in enumerate(part)
            ]
            for attempt in range(_RETRIES + 1):
                response = self._clients.sns.publish_batch(
                    TopicArn=self._resources.alerts_topic_arn, PublishBatchRequestEntries=entries
                )
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                entries = [entry for entry in entries if entry["Id"] in failed]
                if not entries:
                    break
                logger.warning("%d alerts not published, retrying: %s", len(entries), failed)
                _backoff(attempt)
            else:
                raise RuntimeError(f"{len(entries)} alerts could not be published")

    def logged_batch_starts(self, shard_id: str, after: str | None) -> list[int]:
        """First sequence numbers of the shard's logged batches after a place, in order.

        Those batches were logged by a consumer that stopped before saving its place past
        them; whoever reads them again cuts its batches at the same numbers (see
        ``BatchProcessor.align_with_log``) so each object is rewritten, not repeated.
        """
        prefix = f"{DECISIONS_PREFIX}{shard_id}/"
        pages = self._clients.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._names.decisions_bucket, Prefix=prefix
        )
        starts = sorted(
            int(item["Key"][len(prefix) : -len(".jsonl")])
            for page in pages
            for item in page.get("Contents", [])
        )
        return [start for start in starts if after is None or start > int(after)]

    def log_decisions(self, shard_id: str, decisions: Sequence[dict[str, Any]]) -> str | None:
        """Write a batch's decisions as one JSON-lines object, keyed by the batch's first
        sequence number; returns the key."""
        if not decisions:
            return None
        key = f"{DECISIONS_PREFIX}{shard_id}/{decisions[0]['sequence_number']}.jsonl"
        body = "".join(json.dumps(decision) + "\n" for decision in decisions)
        self._clients.s3.put_object(
            Bucket=self._names.decisions_bucket,
            Key=key,
            Body=body.encode(),
            ContentType="application/x-ndjson",
        )
        return key

    def set_aside(self, rejected: Sequence[RejectedRecord]) -> None:
        """Send records that cannot be processed to the dead-letter queue, with the reason."""
        for part in chunks(rejected, _SQS_BATCH_LIMIT):
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(dead_letter_body(record))}
                for index, record in enumerate(part)
            ]
            response = self._clients.sqs.send_message_batch(
                QueueUrl=self._resources.dead_letter_url, Entries=entries
            )
            if response.get("Failed"):
                raise RuntimeError(f"dead-letter queue refused {response['Failed']}")


def alert_message(decision: Decision) -> dict[str, Any]:
    return {
        "event": "fraud_detected",
        "tx_id": decision.tx_id,
        "account": decision.account,
        "recipient": decision.recipient,
        "amount": decision.amount,
        "type": decision.type,
        "step": decision.step,
        "score": decision.score,
        "threshold": decision.threshold,
        "model_version": decision.model_version,
        "reason": f"fraud score {decision.score:.4f} is at or above the model's threshold "
        f"{decision.threshold:.4f}; account {decision.account} is now blocked",
        "detected_at": decision.decided_at,
    }


def dead_letter_body(record: RejectedRecord) -> dict[str, Any]:
    payload = record.data[:_DEAD_LETTER_PAYLOAD_BYTES]
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode(), "base64"
    return {
        "reason": record.reason,
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "partition_key": record.partition_key,
        "payload": text,
        "payload_encoding": encoding,
        "payload_bytes": len(record.data),
        "payload_truncated": len(record.data) > _DEAD_LETTER_PAYLOAD_BYTES,
        "payload_sha256": hashlib.sha256(record.data).hexdigest(),
        "set_aside_at": time.time(),
    }


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))
