"""Enhanced fan-out reading (``app.consumer.fan_out``) through a scripted Kinesis client.

The embedded AWS does not serve SubscribeToShard, so these tests script what AWS sends: event
streams of SubscribeToShardEvent dicts (as boto3 yields them), subscriptions that end after
their five minutes, errors raised from inside a stream, and the last event of a closed shard.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from app.consumer import fan_out
from app.consumer.consumer import Consumer
from app.consumer.fan_out import FanOutReads, resolve_consumer_arn
from app.errors import AwsSetupError
from app.producer import StreamProducer
from app.settings import Settings
from ml.simulator import simulate_transactions

CONSUMER_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/fds-consumer:1"
SHARD = "shardId-000000000000"


def record(number: int) -> dict[str, Any]:
    return {"SequenceNumber": str(number), "Data": b"{}", "PartitionKey": "C1"}


def event(numbers: list[int], *, behind: int = 0, end: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Records": [record(n) for n in numbers],
        "MillisBehindLatest": behind,
        "ContinuationSequenceNumber": None if end else str(max(numbers, default=0) + 1),
    }
    if end:
        body["ChildShards"] = [{"ShardId": "shardId-000000000002", "ParentShards": [SHARD]}]
    return {"SubscribeToShardEvent": body}


def throttled(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "scripted"}}, "SubscribeToShard")


class ScriptedKinesis:
    """Answers each subscribe_to_shard with the next scripted stream (a list of events, an
    event then an exception, or an exception at once), recording the starting positions."""

    def __init__(self, subscriptions: list[Any]) -> None:
        self._subscriptions = list(subscriptions)
        self.starts: list[dict[str, str]] = []

    def subscribe_to_shard(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["ConsumerARN"] == CONSUMER_ARN and kwargs["ShardId"] == SHARD
        self.starts.append(kwargs["StartingPosition"])
        if not self._subscriptions:
            raise AssertionError("subscribed more often than scripted")
        script = self._subscriptions.pop(0)
        if isinstance(script, Exception):
            raise script
        return {"EventStream": self._stream(script)}

    @staticmethod
    def _stream(script: list[Any]) -> Iterator[dict[str, Any]]:
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield item


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fan_out, "_IN_USE_PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(fan_out, "_RETRY_BASE_SECONDS", 0.0)


def read_all(kinesis: ScriptedKinesis, after: str | None = None) -> list[int]:
    reads = FanOutReads(kinesis, CONSUMER_ARN, SHARD, threading.Event())
    return [int(r["SequenceNumber"]) for d in reads.deliveries(after) for r in d.records]


def test_renewed_subscriptions_start_after_the_last_record_handed_on() -> None:
    # Given a first subscription that ends after its time, and a second that reads to the end
    kinesis = ScriptedKinesis([[event([1, 2]), event([3])], [event([4]), event([5], end=True)]])

    # When the shard is read from its start
    numbers = read_all(kinesis)

    # Then every record comes once, in order, and the renewal started right after record 3
    assert numbers == [1, 2, 3, 4, 5]
    assert kinesis.starts == [
        {"Type": "TRIM_HORIZON"},
        {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "3"},
    ]


def test_a_saved_place_is_where_the_first_subscription_starts() -> None:
    kinesis = ScriptedKinesis([[event([8, 9], end=True)]])

    assert read_all(kinesis, after="7") == [8, 9]
    assert kinesis.starts == [{"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "7"}]


@pytest.mark.parametrize(
    "fault",
    ["ResourceInUseException", "LimitExceededException", "InternalFailure"],
)
def test_an_error_inside_a_stream_resubscribes_after_what_was_handed_on(fault: str) -> None:
    # Given a stream that fails after one event, and a refused first renewal
    kinesis = ScriptedKinesis(
        [[event([1, 2]), throttled(fault)], throttled(fault), [event([3], end=True)]]
    )

    # When read
    numbers = read_all(kinesis)

    # Then nothing is lost or repeated, and each renewal started after record 2
    assert numbers == [1, 2, 3]
    assert kinesis.starts[1:] == [{"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "2"}] * 2


def test_the_end_of_a_shard_ends_the_reading_and_says_so() -> None:
    kinesis = ScriptedKinesis([[event([1]), event([], end=True)]])
    reads = FanOutReads(kinesis, CONSUMER_ARN, SHARD, threading.Event())

    deliveries = list(reads.deliveries(None))

    assert [d.shard_ended for d in deliveries] == [False, True]
    assert len(kinesis.starts) == 1, "an ended shard must not be subscribed to again"


def test_a_stop_ends_the_reading_at_the_next_event() -> None:
    stopping = threading.Event()
    kinesis = ScriptedKinesis([[event([1]), event([2]), event([3])]])
    reads = FanOutReads(kinesis, CONSUMER_ARN, SHARD, stopping)

    seen = []
    for delivery in reads.deliveries(None):
        seen += [r["SequenceNumber"] for r in delivery.records]
        stopping.set()

    assert seen == ["1"]


def stubbed_kinesis(status: str | None) -> Any:
    """A real Kinesis client whose describe calls are answered by botocore's Stubber, which
    checks the requests and the answers against the service's own API model."""
    kinesis = boto3.client("kinesis", region_name="us-east-1")
    stubber = Stubber(kinesis)
    stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
    stubber.add_response(
        "describe_stream_summary",
        {
            "StreamDescriptionSummary": {
                "StreamName": "s",
                "StreamARN": stream_arn,
                "StreamStatus": "ACTIVE",
                "RetentionPeriodHours": 24,
                "StreamCreationTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                "EnhancedMonitoring": [],
                "OpenShardCount": 2,
            }
        },
        {"StreamName": "s"},
    )
    expected = {"StreamARN": stream_arn, "ConsumerName": "fds-consumer"}
    if status is None:
        stubber.add_client_error(
            "describe_stream_consumer", "ResourceNotFoundException", expected_params=expected
        )
    else:
        stubber.add_response(
            "describe_stream_consumer",
            {
                "ConsumerDescription": {
                    "ConsumerName": "fds-consumer",
                    "ConsumerARN": CONSUMER_ARN,
                    "ConsumerStatus": status,
                    "ConsumerCreationTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                    "StreamARN": stream_arn,
                }
            },
            expected,
        )
    stubber.activate()
    return kinesis


def test_resolve_consumer_arn_of_an_active_consumer() -> None:
    assert resolve_consumer_arn(stubbed_kinesis("ACTIVE"), "s", "fds-consumer") == CONSUMER_ARN


@pytest.mark.parametrize(
    ("status", "says"),
    [(None, "has no registered consumer 'fds-consumer'"), ("CREATING", "is CREATING, not ACTIVE")],
)
def test_resolve_consumer_arn_missing_or_not_ready_says_what_to_do(status, says) -> None:
    with pytest.raises(AwsSetupError, match=says):
        resolve_consumer_arn(stubbed_kinesis(status), "s", "fds-consumer")


class PushingKinesis:
    """The local Kinesis, with SubscribeToShard played from its own records: each subscription
    pushes what GetRecords finds after the starting position, a few events long, then ends
    as a real one does after its five minutes (and the last event of a closed shard is never
    reached: the local shards stay open)."""

    def __init__(self, kinesis: Any, stream: str, events_per_subscription: int = 3) -> None:
        self._kinesis = kinesis
        self._stream = stream
        self._events = events_per_subscription
        self.subscriptions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kinesis, name)

    def subscribe_to_shard(self, ConsumerARN: str, ShardId: str, StartingPosition: dict) -> Any:
        self.subscriptions += 1
        start: dict[str, Any] = {"ShardIteratorType": StartingPosition["Type"]}
        if "SequenceNumber" in StartingPosition:
            start["StartingSequenceNumber"] = StartingPosition["SequenceNumber"]
        iterator = self._kinesis.get_shard_iterator(
            StreamName=self._stream, ShardId=ShardId, **start
        )["ShardIterator"]
        return {"EventStream": self._push(iterator)}

    def _push(self, iterator: str) -> Iterator[dict[str, Any]]:
        for _ in range(self._events):
            response = self._kinesis.get_records(ShardIterator=iterator, Limit=50)
            iterator = response["NextShardIterator"]
            records = response["Records"]
            yield {
                "SubscribeToShardEvent": {
                    "Records": records,
                    "MillisBehindLatest": response.get("MillisBehindLatest", 0),
                    "ContinuationSequenceNumber": records[-1]["SequenceNumber"] if records else "0",
                }
            }
            time.sleep(0.02)


def test_a_consumer_in_fan_out_mode_decides_every_transaction_once(
    local_aws_env, model, poll
) -> None:
    # Given a registered stream consumer, and transactions on the stream
    kinesis = local_aws_env.clients.kinesis
    stream = local_aws_env.names.stream
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="fds-consumer")
    rows = [
        {"tx_id": f"fo-{i}", **row}
        for i, row in enumerate(
            islice(simulate_transactions(seed=61, fraud_rate=0.05, retry_share=0.5), 300)
        )
    ]
    StreamProducer(kinesis, stream).run(rows)
    pushing = PushingKinesis(kinesis, stream)

    # When a consumer reads in fan-out mode
    consumer = Consumer(
        local_aws_env.with_clients(kinesis=pushing),
        Settings(environment="local", read_mode="fan-out"),
        model,
    )
    consumer.start()
    try:
        poll(lambda: consumer.stats.handled >= len(rows), timeout=60, what="every transaction")
    finally:
        consumer.stop()

    # Then it subscribed (again and again, as subscriptions end) and decided each exactly once
    assert consumer.healthy()
    assert pushing.subscriptions > 2, "subscriptions should have been renewed"
    logged = Counter(d["tx_id"] for d in local_aws_env.decision_log())
    assert logged == Counter(row["tx_id"] for row in rows), "missing or doubled"
