"""Where the consumer keeps its place in each shard: a DynamoDB item per stream and shard.

The place is the sequence number of the last record whose effects are durable. A restarted
consumer resumes right after it (``AFTER_SEQUENCE_NUMBER``), never by timestamp, which boto3
rounds to whole seconds and would re-read up to a second of records.

A stream is known by its name and its creation time (``stream_identity``): a stream deleted and
created again under the same name starts its shard ids and, on the local AWS, its sequence
numbers again, and a place kept for the old one would skip the new one's records.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.aws import AwsClients

logger = logging.getLogger(__name__)


def stream_identity(kinesis: Any, stream: str) -> str:
    """``<name>@<creation time in ms>``: different for a stream created again under its name."""
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    created = summary["StreamCreationTimestamp"]
    return f"{stream}@{int(created.timestamp() * 1000)}"


class CheckpointStore:
    """The places of one stream's shards; ``stream`` is the stream's ``stream_identity``."""

    def __init__(self, clients: AwsClients, table: str, stream: str) -> None:
        self._dynamodb = clients.dynamodb
        self._table = table
        self._stream = stream

    def _key(self, shard_id: str) -> dict[str, dict[str, str]]:
        return {"shard_id": {"S": f"{self._stream}/{shard_id}"}}

    def load(self, shard_id: str) -> str | None:
        """The last durable sequence number of a shard, or None if it was never read."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self._key(shard_id), ConsistentRead=True
        ).get("Item")
        return item["sequence_number"]["S"] if item else None

    def save(self, shard_id: str, sequence_number: str) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                **self._key(shard_id),
                "sequence_number": {"S": sequence_number},
                "updated_at": {"N": f"{time.time():.3f}"},
            },
        )
