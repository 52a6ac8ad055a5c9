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
from app.consumer.decisions import Blocker, Decision
from app.pauses import RetryHook, backoff_seconds
from app.resources import Resources

logger = logging.getLogger(__name__)

_BATCH_GET_LIMIT: Final = 100
_BATCH_WRITE_LIMIT: Final = 25
_PUBLISH_BATCH_LIMIT: Final = 10
_SQS_BATCH_LIMIT: Final = 10
#: A dead letter keeps this much of the bad payload: enough to see what it was. Quoted in JSON
#: it can grow up to six times (control bytes become \u escapes), still far under SQS's limit.
_DEAD_LETTER_PAYLOAD_BYTES: Final = 8192
#: SQS takes 256 KiB per SendMessageBatch call, all messages together; some room is kept.
_SQS_BATCH_BYTES: Final = 240 * 1024
_RETRIES: Final = 5
_BLOCKER_PROJECTION: Final = "account, tx_id, shard_id, sequence_number"
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

#: The alerts ledger's items sit in the checkpoint table under this prefix of its key.
LEDGER_KEY = "shard_id"
LEDGER_PREFIX = "alert-sent/"
LEDGER_EXPIRY = "expires_at"
#: Kinesis keeps a record at most 365 days; a ledger item outlives any replay of its record.
_LEDGER_KEEP_SECONDS: Final = 366 * 24 * 3600


def ledger_key(tx_id: str) -> dict[str, dict[str, str]]:
    return {LEDGER_KEY: {"S": f"{LEDGER_PREFIX}{tx_id}"}}


class Effects:
    """Writes the consumer's decisions into the world."""

    def __init__(
        self, clients: AwsClients, resources: Resources, on_retry: RetryHook | None = None
    ) -> None:
        """``on_retry`` is told the operation each time AWS leaves part of a call undone."""
        self._clients = clients
        self._on_retry = on_retry
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

    def blocked_among(self, accounts: set[str]) -> dict[str, Blocker]:
        """Senders of these that are on the block list, with the transaction that blocked each."""
        table = self._names.blocklist_table
        keys = [{"account": {"S": account}} for account in sorted(accounts)]
        items = batch_get(
            self._clients.dynamodb,
            table,
            keys,
            projection=_BLOCKER_PROJECTION,
            on_retry=self._on_retry,
        )
        return {item["account"]["S"]: _blocker(item) for item in items}

    def scan_blocklist(self) -> dict[str, Blocker]:
        """The whole block list: account → the transaction that blocked it."""
        blocked: dict[str, Blocker] = {}
        paginator = self._clients.dynamodb.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._names.blocklist_table, ProjectionExpression=_BLOCKER_PROJECTION
        )
        for page in pages:
            for item in page["Items"]:
                blocked[item["account"]["S"]] = _blocker(item)
        return blocked

    def block(self, frauds: Sequence[Decision]) -> list[Decision]:
        """Put the senders on the block list; returns the frauds whose alert is still owed.

        One conditional write per account, all in flight together, so the first transaction
        that blocked an account stays its blocker. A transaction (TransactWriteItems) would
        take one call, but the local server copies the whole table for every item of a
        transaction, which grows with the block list; on AWS it would also cost twice the
        write capacity.

        A fraud whose account was already blocked by another transaction owes no alert. One
        that finds its own entry is a replay (a consumer stopped before saving its place): it
        may owe its alert still. Whether the alert already went out is for the alert sender to
        ask the ledger (``alerts_sent``), off the way to the decision.
        """
        is_blocker = self._writers.map(self._block_one, frauds)
        return [decision for decision, mine in zip(frauds, is_blocker, strict=True) if mine]

    def _block_one(self, decision: Decision) -> bool:
        """Block the sender; True if this transaction is its blocker (a new entry, or its own
        from before), False if another transaction blocked the account first."""
        try:
            self._clients.dynamodb.put_item(**self._block_put(decision))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = error.response.get("Item", {})
            return bool(existing.get("tx_id", {}).get("S") == decision.tx_id)
        return True

    def _block_put(self, decision: Decision) -> dict[str, Any]:
        return {
            "TableName": self._names.blocklist_table,
            "Item": {
                "account": {"S": decision.account},
                "tx_id": {"S": decision.tx_id},
                # Where the blocker is on the stream: a replay decides what came before it
                # on its shard as it did the first time, never as refused.
                "shard_id": {"S": decision.shard_id},
                "sequence_number": {"S": decision.sequence_number},
                "amount": {"N": str(as_money(decision.amount))},
                "score": {"N": str(as_decimal(decision.score or 0.0))},
                "model_version": {"S": decision.model_version},
                "blocked_at": {"N": str(as_decimal(round(decision.decided_at, 3)))},
            },
            "ConditionExpression": "attribute_not_exists(account)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def mark_alerted(self, frauds: Sequence[Decision]) -> None:
        """Record in the alerts ledger that these frauds' alerts went out, so a replay sends
        none again.

        The ledger lives in the checkpoint table, one item per transaction under
        ``alert-sent/<tx_id>``, written 25 to a call: it is what the consumer knows of its own
        progress, and marking each block-list entry instead cost a conditional update per
        fraud. An item expires after the stream's longest retention, when no record it could
        answer for can be read again.
        """
        now = time.time()
        expires_at = str(int(now + _LEDGER_KEEP_SECONDS))
        items = {
            decision.tx_id: {
                "PutRequest": {
                    "Item": {
                        **ledger_key(decision.tx_id),
                        "sent_at": {"N": str(as_decimal(round(now, 3)))},
                        LEDGER_EXPIRY: {"N": expires_at},
                    }
                }
            }
            for decision in frauds
        }
        table = self._names.checkpoint_table
        for part in chunks(list(items.values()), _BATCH_WRITE_LIMIT):
            request: dict[str, Any] = {table: list(part)}
            for attempt in range(_RETRIES + 1):
                response = self._clients.dynamodb.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                _backoff(attempt, "ledger_batch_write", self._on_retry)
            else:
                raise RuntimeError(f"alerts ledger in {table} kept returning unprocessed items")

    def alerts_sent(self, frauds: Sequence[Decision]) -> set[str]:
        """Transaction ids among these whose alert the ledger says went out."""
        keys = [ledger_key(tx_id) for tx_id in sorted({d.tx_id for d in frauds})]
        items = batch_get(
            self._clients.dynamodb, self._names.checkpoint_table, keys, on_retry=self._on_retry
        )
        return {item[LEDGER_KEY]["S"][len(LEDGER_PREFIX) :] for item in items}

    def publish_alerts(self, frauds: Sequence[Decision], published: set[str] | None = None) -> None:
        """Alert the operators of each fraud through the SNS topic, ten per call.

        ``published`` collects the transaction ids whose alerts went out, and those already in
        it are skipped: a caller retrying after an error passes the same set, so an outage
        that starts in the middle of a group repeats none of the alerts sent before it.
        """
        published = set() if published is None else published
        for part in chunks([d for d in frauds if d.tx_id not in published], _PUBLISH_BATCH_LIMIT):
            entries = {str(index): decision for index, decision in enumerate(part)}
            for attempt in range(_RETRIES + 1):
                response = self._clients.sns.publish_batch(
                    TopicArn=self._resources.alerts_topic_arn,
                    PublishBatchRequestEntries=[
                        {"Id": entry_id, "Message": json.dumps(alert_message(decision))}
                        for entry_id, decision in entries.items()
                    ],
                )
                for sent in response.get("Successful", []):
                    published.add(entries.pop(sent["Id"]).tx_id)
                if not entries:
                    break
                logger.warning("%d alerts not published, retrying: %s", len(entries), list(entries))
                _backoff(attempt, "sns_publish_batch", self._on_retry)
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
        """Send records that cannot be processed to the dead-letter queue, with the reason.

        Ten to a call, and fewer when their bodies would pass SQS's limit for one call: a
        letter's JSON can be several times the size of the payload it quotes.
        """
        bodies = [json.dumps(dead_letter_body(record)) for record in rejected]
        for part in _by_size(bodies, _SQS_BATCH_LIMIT, _SQS_BATCH_BYTES):
            response = self._clients.sqs.send_message_batch(
                QueueUrl=self._resources.dead_letter_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(part)],
            )
            if response.get("Failed"):
                raise RuntimeError(f"dead-letter queue refused {response['Failed']}")


def _by_size(bodies: Sequence[str], count: int, size: int) -> Iterator[list[str]]:
    """Consecutive groups of at most ``count`` bodies and ``size`` UTF-8 bytes (one body alone
    may be larger: it goes by itself)."""
    group: list[str] = []
    group_bytes = 0
    for body in bodies:
        body_bytes = len(body.encode())
        if group and (len(group) == count or group_bytes + body_bytes > size):
            yield group
            group, group_bytes = [], 0
        group.append(body)
        group_bytes += body_bytes
    if group:
        yield group


def _blocker(item: dict[str, Any]) -> Blocker:
    return Blocker(
        tx_id=item.get("tx_id", {}).get("S", ""),
        shard_id=item.get("shard_id", {}).get("S", ""),
        sequence_number=item.get("sequence_number", {}).get("S", ""),
    )


def batch_get(
    dynamodb: Any,
    table: str,
    keys: Sequence[dict[str, Any]],
    *,
    projection: str | None = None,
    consistent: bool = False,
    on_retry: RetryHook | None = None,
) -> list[dict[str, Any]]:
    """The items of one table with these keys, 100 to a call, unprocessed keys retried."""
    found: list[dict[str, Any]] = []
    for part in chunks(keys, _BATCH_GET_LIMIT):
        wanted: dict[str, Any] = {"Keys": list(part), "ConsistentRead": consistent}
        if projection:
            wanted["ProjectionExpression"] = projection
        request: dict[str, Any] = {table: wanted}
        for attempt in range(_RETRIES + 1):
            response = dynamodb.batch_get_item(RequestItems=request)
            found += response["Responses"][table]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            _backoff(attempt, "dynamodb_batch_get", on_retry)
        else:
            raise RuntimeError(f"look-up in {table} kept returning unprocessed keys")
    return found


def alert_message(decision: Decision) -> dict[str, Any]:
    """The alert of one fraud, as the operators receive it.

    With its three reasons it is under 2 KiB of JSON, so ten to a PublishBatch call stay far
    under SNS's 256 KiB for a message and for a whole call (``tests/app/consumer/test_effects.py``
    checks the largest one the schema allows).
    """
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
        f"{decision.threshold:.4f}{_because(decision)}; account {decision.account} is now blocked",
        "reasons": [reason.to_json_dict() for reason in decision.reasons],
        "detected_at": decision.decided_at,
    }


def _because(decision: Decision) -> str:
    words = decision.reasons_in_words()
    return f", mostly because {words}" if words else ""


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


def _backoff(attempt: int, operation: str, on_retry: RetryHook | None) -> None:
    """Pause before retrying what AWS left unprocessed or unpublished: up to 50 ms at first,
    doubling to 1 s, with full jitter so consumers throttled together do not retry together.
    After the last attempt there is nothing to wait for: the caller gives up at once."""
    if attempt >= _RETRIES:
        return
    if on_retry is not None:
        on_retry(operation)
    time.sleep(backoff_seconds(attempt, 0.05, 1.0))
