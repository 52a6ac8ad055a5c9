"""Reading a shard by enhanced fan-out: Kinesis pushes its records over SubscribeToShard.

Polling is limited to five GetRecords calls per second per shard, shared by every reader, and
delivers a record in about 200 ms on average; a registered stream consumer gets its own 2 MB/s
per shard pushed to it over HTTP/2, in about 70 ms. A subscription lasts five minutes and is
then renewed from the last record handed on, so nothing is skipped or read twice.

The embedded AWS does not serve SubscribeToShard, so this path runs only on AWS; its tests drive
it through a scripted client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import error_code
from app.consumer.reads import Delivery
from app.errors import AwsSetupError
from app.pauses import RetryHook, backoff_seconds

logger = logging.getLogger(__name__)

#: Kinesis refuses a new subscription to the same shard within five seconds of the last one.
_IN_USE_PAUSE_SECONDS = 5.0
_RETRY_BASE_SECONDS = 0.2
_MAX_RETRY_PAUSE_SECONDS = 5.0


def resolve_consumer_arn(kinesis: Any, stream: str, consumer_name: str) -> str:
    """The ARN of the stream's registered consumer, which must be active.

    Raises:
        AwsSetupError: no consumer of that name is registered, or it is not active yet.
    """
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    try:
        found = kinesis.describe_stream_consumer(StreamARN=stream_arn, ConsumerName=consumer_name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        raise AwsSetupError(
            f"stream {stream} has no registered consumer {consumer_name!r}, which fan-out reading "
            "needs: deploy a stack with fds:readMode fan-out (it registers one), or set "
            "FDS_READ_MODE=polling"
        ) from error
    description = found["ConsumerDescription"]
    if description["ConsumerStatus"] != "ACTIVE":
        raise AwsSetupError(
            f"the stream consumer {consumer_name!r} is {description['ConsumerStatus']}, not "
            "ACTIVE: wait for its registration to finish and start again"
        )
    return str(description["ConsumerARN"])


class FanOutReads:
    """The records of one shard as Kinesis pushes them, subscription after subscription."""

    def __init__(
        self,
        kinesis: Any,
        consumer_arn: str,
        shard_id: str,
        stopping: threading.Event,
        on_retry: RetryHook | None = None,
    ) -> None:
        self._kinesis = kinesis
        self._on_retry = on_retry
        self._consumer_arn = consumer_arn
        self._shard_id = shard_id
        self._stopping = stopping

    def deliveries(self, after: str | None) -> Iterator[Delivery]:
        """Each event's records, from right after ``after`` (the shard's start when None).

        The caller handles each delivery before asking for the next, so the last record handed
        on is where a renewed subscription starts. Ends when told to stop or the shard ends.
        """
        position = after
        failures = 0
        while not self._stopping.is_set():
            try:
                for delivery in self._subscription(position):
                    failures = 0
                    yield delivery
                    if delivery.records:
                        position = delivery.records[-1]["SequenceNumber"]
                    if delivery.shard_ended or self._stopping.is_set():
                        return
                # The subscription's five minutes are up: renew it from where we are.
                continue
            except (ClientError, BotoCoreError) as error:
                code = error_code(error)
                pause = backoff_seconds(failures, _RETRY_BASE_SECONDS, _MAX_RETRY_PAUSE_SECONDS)
                failures += 1
                wait = _IN_USE_PAUSE_SECONDS if code == "ResourceInUseException" else pause
                if self._on_retry is not None:
                    self._on_retry("subscribe_to_shard")
                logger.warning(
                    "subscription to shard %s failed (%s); subscribing again in %.1fs",
                    self._shard_id,
                    code,
                    wait,
                )
                if self._stopping.wait(wait):
                    return

    def _subscription(self, after: str | None) -> Iterator[Delivery]:
        start: dict[str, str] = (
            {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after is not None
            else {"Type": "TRIM_HORIZON"}
        )
        response = self._kinesis.subscribe_to_shard(
            ConsumerARN=self._consumer_arn, ShardId=self._shard_id, StartingPosition=start
        )
        events = response["EventStream"]
        try:
            for event in events:
                body = event.get("SubscribeToShardEvent")
                if body is None:
                    continue  # another event type, e.g. an initial response
                # At the end of a shard the event names its children and has no continuation.
                ended = body.get("ContinuationSequenceNumber") is None and bool(
                    body.get("ChildShards")
                )
                yield Delivery(body.get("Records", []), body.get("MillisBehindLatest"), ended)
                if ended or self._stopping.is_set():
                    return
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
