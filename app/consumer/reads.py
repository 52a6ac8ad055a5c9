"""How a shard's records reach its reader: polled with GetRecords, or pushed by fan-out.

Both ways hand on the same thing, a ``Delivery`` at a time, and both start again right after
the last record handed on when they must start over (an expired iterator, a renewed or broken
subscription). The reader handles each delivery before it asks for the next, so the last
record handed on is the last one handled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import error_code
from app.pauses import RetryHook, backoff_seconds

logger = logging.getLogger(__name__)

_RETRY_BASE_SECONDS = 0.2
_MAX_RETRY_PAUSE_SECONDS = 5.0


class IncompleteAnswerError(Exception):
    """A GetRecords answer without its records: read again, as after any failed read."""


@dataclass(frozen=True)
class Delivery:
    """Records of one read or event, how far behind the tip they are, and whether the shard
    ended with them (closed by a reshard and read to its end)."""

    records: list[dict[str, Any]]
    millis_behind: int | None
    shard_ended: bool = False


class ShardReads(Protocol):
    def deliveries(self, after: str | None) -> Iterator[Delivery]:
        """From right after ``after`` (the shard's start when None) until told to stop or
        the shard ends."""
        ...


class PollingReads:
    """GetRecords at most once per poll interval, busy or not.

    Each read and each batch costs calls whatever its size, so reading back to back would
    spend them on batches of one or two records; Kinesis itself allows five reads a second per
    shard, shared by every reader of it.
    """

    def __init__(
        self,
        kinesis: Any,
        stream: str,
        shard_id: str,
        stopping: threading.Event,
        *,
        poll_interval_seconds: float,
        max_records_per_read: int,
        on_retry: RetryHook | None = None,
    ) -> None:
        self._kinesis = kinesis
        self._stream = stream
        self._shard_id = shard_id
        self._stopping = stopping
        self._poll_interval = poll_interval_seconds
        self._limit = max_records_per_read
        self._on_retry = on_retry

    def deliveries(self, after: str | None) -> Iterator[Delivery]:
        position = after
        iterator: str | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                # A fresh iterator always starts right after the last record handed on, so
                # re-acquiring one (expired, or after an outage) neither skips nor repeats.
                iterator = iterator or self._iterator(position)
                read_started = time.monotonic()
                response = self._kinesis.get_records(ShardIterator=iterator, Limit=self._limit)
                if "Records" not in response:
                    # Seen from a server restarting under the reader: an answer with no body.
                    # Taken as it is, its missing next iterator would say the shard ended.
                    raise IncompleteAnswerError(sorted(response))
            except (ClientError, BotoCoreError, IncompleteAnswerError) as error:
                iterator = None
                code = error_code(error)
                if code == "ExpiredIteratorException":
                    logger.info("iterator of shard %s expired; re-acquiring", self._shard_id)
                    continue
                # Throttling past botocore's own retries, or AWS out of reach: wait it out.
                logger.warning("reading shard %s failed (%s); retrying", self._shard_id, code)
                if self._on_retry is not None:
                    self._on_retry("get_records")
                pause = backoff_seconds(failures, _RETRY_BASE_SECONDS, _MAX_RETRY_PAUSE_SECONDS)
                failures += 1
                if self._stopping.wait(pause):
                    return
                continue
            failures = 0
            records: list[dict[str, Any]] = response["Records"]
            iterator = response.get("NextShardIterator")
            yield Delivery(records, response.get("MillisBehindLatest"), iterator is None)
            if records:
                position = records[-1]["SequenceNumber"]
            if iterator is None:
                return
            self._stopping.wait(max(self._poll_interval - (time.monotonic() - read_started), 0))

    def _iterator(self, after: str | None) -> str:
        if after is None:
            response = self._kinesis.get_shard_iterator(
                StreamName=self._stream, ShardId=self._shard_id, ShardIteratorType="TRIM_HORIZON"
            )
        else:
            response = self._kinesis.get_shard_iterator(
                StreamName=self._stream,
                ShardId=self._shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=after,
            )
        return str(response["ShardIterator"])
