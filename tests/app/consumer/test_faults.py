"""The consumer under faults: throttling, expired iterators, the local AWS restarted, SNS down.

Each test runs a real ``Consumer`` against the local AWS and injects one fault where it would
arise: throttling as the services' own error responses, handed to botocore's retry machinery
through a ``before-send`` hook; an expired iterator and an SNS outage through thin wrappers
around a client; a restart by stopping the embedded server and starting it again on the same
port. Afterwards every transaction must have exactly one logged decision, every fraud exactly
one block-list entry (and, unless noted, one alert), and the consumer must still be healthy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError

from app.aws import make_clients
from app.consumer.checkpoints import CheckpointStore, stream_identity
from app.consumer.consumer import Consumer
from app.local import server as local_server
from app.local.server import LocalAws
from app.producer import StreamProducer
from app.settings import Settings
from ml.simulator import simulate_transactions

SETTINGS = Settings(environment="local", poll_interval_seconds=0.01)


# Helpers ---------------------------------------------------------------------------------------


def tagged_rows(count: int, *, prefix: str, seed: int) -> list[dict[str, Any]]:
    """Generated rows (about 5% takeovers) with known transaction ids."""
    rows = islice(simulate_transactions(seed=seed, fraud_rate=0.05, retry_share=0.5), count)
    return [{"tx_id": f"{prefix}-{i}", **row} for i, row in enumerate(rows)]


@contextlib.contextmanager
def running(consumer: Consumer) -> Iterator[Consumer]:
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop()


def wait_for_decisions(consumer: Consumer, count: int, poll, *, timeout: float = 30) -> None:
    poll(
        lambda: consumer.stats.handled >= count or bool(consumer.failed),
        timeout=timeout,
        what=f"the consumer to decide {count} transactions",
    )
    assert not consumer.failed, f"shard readers died: {[r.error for r in consumer.failed]}"


def assert_decided_exactly_once(env, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row has one logged decision and nothing else is logged; returns the decisions."""
    decisions = env.decision_log()
    logged = Counter(d["tx_id"] for d in decisions)
    expected = Counter(row["tx_id"] for row in rows)
    missing = sorted(expected - logged)
    doubled = {tx_id: n for tx_id, n in logged.items() if n > 1}
    unknown = sorted(set(logged) - set(expected))
    assert not (missing or doubled or unknown), (
        f"decisions log: missing {missing[:10]}, doubled {doubled}, unknown {unknown[:10]}"
    )
    return decisions


def blocklist(env) -> dict[str, str]:
    """Account → the transaction id that blocked it, for the whole block-list table."""
    pages = env.clients.dynamodb.get_paginator("scan").paginate(TableName=env.names.blocklist_table)
    return {item["account"]["S"]: item["tx_id"]["S"] for page in pages for item in page["Items"]}


def assert_frauds_blocked_once(env, decisions: list[dict[str, Any]]) -> set[str]:
    """Every fraud's sender is blocked by that fraud, and nobody else is; returns the frauds."""
    frauds = {d["tx_id"]: d["account"] for d in decisions if d["verdict"] == "fraud"}
    assert frauds, "no transaction was decided as fraud: the test proves nothing about alerts"
    expected = {account: tx_id for tx_id, account in frauds.items()}
    assert blocklist(env) == expected, "block list does not hold exactly one entry per fraud"
    return set(frauds)


def collect_alerts(env, into: Counter[str]) -> Counter[str]:
    """Drain the operators' inbox into ``into`` (transaction id → alerts received)."""
    into.update(alert["tx_id"] for alert in env.inbox_alerts())
    return into


def shard_sequence_numbers(env) -> dict[str, list[str]]:
    """Shard id → the sequence numbers of every record on it, in order."""
    by_shard: dict[str, list[str]] = defaultdict(list)
    for record in env.stream_records():
        by_shard[record["ShardId"]].append(record["SequenceNumber"])
    return dict(by_shard)


def checkpoints_of(env) -> CheckpointStore:
    identity = stream_identity(env.clients.kinesis, env.names.stream)
    return CheckpointStore(env.clients, env.names.checkpoint_table, identity)


def app_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("app.") and record.levelno >= logging.WARNING
    ]


# 1. Throttling, through botocore's own retries -------------------------------------------------


class _Body:
    """The raw part of an ``AWSResponse``: what botocore reads the body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Throttle:
    """A ``before-send`` handler answering the first ``count`` matching calls as throttled.

    The answer is the service's own: HTTP 400 with its throttling error body. botocore parses
    it like any response and its retry handler (adaptive mode, as FDS configures it) decides
    to back off and send again; the handler lets the repeat through once ``count`` are spent.
    """

    def __init__(
        self,
        count: int,
        *,
        content_type: str,
        body: bytes,
        applies: Callable[[Any], bool] = lambda request: True,
    ) -> None:
        self._count = count
        self._content_type = content_type
        self._body = body
        self._applies = applies
        self._lock = threading.Lock()
        self.throttled = 0
        self.let_through = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self._applies(request):
            return None
        with self._lock:
            if self.throttled >= self._count:
                self.let_through += 1
                return None
            self.throttled += 1
        headers = {"Content-Type": self._content_type, "x-amzn-RequestId": "throttled"}
        return AWSResponse(request.url, 400, headers, _Body(self._body))


def json_throttle(count: int, code: str, message: str, **kwargs: Any) -> Throttle:
    """Throttling as Kinesis and DynamoDB send it (JSON 1.0/1.1 protocol)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Throttle(count, content_type="application/x-amz-json-1.1", body=body, **kwargs)


def sns_throttle(count: int) -> Throttle:
    """Throttling as SNS sends it (query protocol, an XML error document)."""
    body = (
        b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        b"<Error><Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Rate exceeded</Message></Error>"
        b"<RequestId>throttled</RequestId></ErrorResponse>"
    )
    return Throttle(count, content_type="text/xml", body=body)


def on_table(table: str) -> Callable[[Any], bool]:
    def applies(request: Any) -> bool:
        return bool(json.loads(request.body or b"{}").get("TableName") == table)

    return applies


def test_throttling_is_retried_by_botocore_and_every_transaction_decided_once(
    local_aws_env, model, poll, caplog
) -> None:
    # Given clients of their own, built as FDS builds them, whose first calls of GetRecords,
    # block-list PutItem, BatchWriteItem and PublishBatch are answered as throttled
    caplog.set_level(logging.WARNING)
    clients = make_clients(local_aws_env.settings, local_aws_env.endpoint_url)
    throttles = {
        "kinesis GetRecords": json_throttle(
            2,
            "ProvisionedThroughputExceededException",
            "Rate exceeded for shard in stream under account 123456789012.",
        ),
        "dynamodb PutItem": json_throttle(
            2,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
            applies=on_table(local_aws_env.names.blocklist_table),
        ),
        "dynamodb BatchWriteItem": json_throttle(
            2, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds"
        ),
        "sns PublishBatch": sns_throttle(2),
    }
    for name, throttle in throttles.items():
        service, operation = name.split()
        client = getattr(clients, service)
        client.meta.events.register(f"before-send.{service}.{operation}", throttle)
    rows = tagged_rows(200, prefix="thr", seed=61)
    StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream).run(rows)

    # When a consumer on those clients reads the stream
    alerts: Counter[str] = Counter()
    consumer = Consumer(clients, SETTINGS, model)
    with running(consumer):
        wait_for_decisions(consumer, len(rows), poll)
        decisions = local_aws_env.decision_log()
        frauds = {d["tx_id"] for d in decisions if d["verdict"] == "fraud"}
        poll(
            lambda: set(collect_alerts(local_aws_env, alerts)) >= frauds,
            timeout=30,
            what=f"alerts of the {len(frauds)} frauds",
        )
        assert consumer.healthy(), "the consumer is unhealthy after being throttled"

    # Then every throttle was served and retried inside botocore, none reaching FDS's code
    for name, throttle in throttles.items():
        assert throttle.throttled == 2, f"{name}: {throttle.throttled} of 2 throttles served"
        assert throttle.let_through > 0, f"{name} was never sent again after its throttles"
    assert not app_warnings(caplog), f"a throttle reached FDS's own retries: {app_warnings(caplog)}"
    # And each transaction was decided once, each fraud blocked and alerted once
    decisions = assert_decided_exactly_once(local_aws_env, rows)
    frauds_blocked = assert_frauds_blocked_once(local_aws_env, decisions)
    collect_alerts(local_aws_env, alerts)
    assert alerts == Counter(frauds_blocked), f"alerts per fraud: {dict(alerts)}"
    assert consumer.healthy() and not consumer.failed


# 2. An expired iterator ------------------------------------------------------------------------


class ExpiringKinesis:
    """The Kinesis client, except that each shard's second read finds its iterator expired.

    Kinesis expires an iterator five minutes after it was issued; moto never does. Every
    iterator handed out, and every record read with it, is recorded per shard.
    """

    def __init__(self, kinesis: Any, expire_on_read: int = 2) -> None:
        self._kinesis = kinesis
        self._expire_on_read = expire_on_read
        self._lock = threading.Lock()
        self._shard_of: dict[str, str] = {}
        self.reads: Counter[str] = Counter()
        #: Per shard, each iterator asked for: (type, starting sequence number or None).
        self.iterators: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        #: Per shard, the sequence numbers read, in order.
        self.delivered: dict[str, list[str]] = defaultdict(list)
        #: Per shard, the last sequence number read before its iterator expired.
        self.read_before_expiry: dict[str, str | None] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kinesis, name)

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        response = self._kinesis.get_shard_iterator(**kwargs)
        shard = kwargs["ShardId"]
        with self._lock:
            self._shard_of[response["ShardIterator"]] = shard
            self.iterators[shard].append(
                (kwargs["ShardIteratorType"], kwargs.get("StartingSequenceNumber"))
            )
        return response

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            shard = self._shard_of[kwargs["ShardIterator"]]
            self.reads[shard] += 1
            if self.reads[shard] == self._expire_on_read:
                delivered = self.delivered[shard]
                self.read_before_expiry[shard] = delivered[-1] if delivered else None
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ExpiredIteratorException",
                            "Message": "Iterator expired. The iterator was created at time "
                            "Mon Jan 05 10:00:00 UTC 2026 while right now it is "
                            "Mon Jan 05 10:05:01 UTC 2026 which is further in the future "
                            "than the tolerated delay of 300000 milliseconds.",
                        }
                    },
                    "GetRecords",
                )
        response = self._kinesis.get_records(**kwargs)
        with self._lock:
            self.delivered[shard] += [r["SequenceNumber"] for r in response["Records"]]
            if response.get("NextShardIterator"):
                self._shard_of[response["NextShardIterator"]] = shard
        return response


def test_an_expired_iterator_is_replaced_after_the_last_record_handled(
    local_aws_env, model, poll
) -> None:
    # Given 150 transactions on both shards, read 20 at a time, and a Kinesis client whose
    # iterator of each shard expires at the second read
    rows = tagged_rows(150, prefix="exp", seed=62)
    StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream).run(rows)
    on_stream = shard_sequence_numbers(local_aws_env)
    assert len(on_stream) == 2 and all(len(numbers) > 20 for numbers in on_stream.values()), (
        f"each shard should hold more than one read: {[len(n) for n in on_stream.values()]}"
    )
    kinesis = ExpiringKinesis(local_aws_env.clients.kinesis)
    settings = SETTINGS.model_copy(update={"max_records_per_read": 20})

    # When a consumer reads the stream with it
    consumer = Consumer(local_aws_env.with_clients(kinesis=kinesis), settings, model)
    with running(consumer):
        wait_for_decisions(consumer, len(rows), poll)
        assert consumer.healthy(), "the consumer is unhealthy after an expired iterator"

    # Then each shard's iterator expired once, after its first read of 20 records
    for shard, numbers in on_stream.items():
        assert kinesis.read_before_expiry.get(shard) == numbers[19], (
            f"{shard}: the iterator should expire right after the 20th record"
        )
        # And the new iterator starts right after the last record read, by sequence number
        assert kinesis.iterators[shard][:2] == [
            ("TRIM_HORIZON", None),
            ("AFTER_SEQUENCE_NUMBER", numbers[19]),
        ], f"{shard}: iterators asked for {kinesis.iterators[shard]}"
        # And every record of the shard was read once, in order: none skipped, none repeated
        assert kinesis.delivered[shard] == numbers, f"{shard}: records read differ from the shard"
    decisions = assert_decided_exactly_once(local_aws_env, rows)
    assert_frauds_blocked_once(local_aws_env, decisions)
    assert consumer.healthy() and not consumer.failed


# 3. The local AWS restarted under a running consumer -------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((local_server.LOOPBACK, 0))
        return int(probe.getsockname()[1])


def test_the_local_aws_restarted_under_a_running_consumer_loses_and_doubles_nothing(
    local_aws_env, model, poll
) -> None:
    # Given a local AWS of the consumer's own on a fixed port. moto keeps its state in the
    # process, not in the server, so the restarted server serves the same stream and tables,
    # while the consumer's connections are cut and new ones refused.
    port = free_port()
    served = [LocalAws(port)]
    try:
        clients = make_clients(local_aws_env.settings, served[0].endpoint_url)
        producer = StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream)
        before = tagged_rows(120, prefix="pre", seed=63)
        producer.run(before)
        consumer = Consumer(clients, SETTINGS, model)
        with running(consumer):
            wait_for_decisions(consumer, len(before), poll)

            # When the server goes away for 3 s while transactions keep arriving (put through
            # the test's own server, which shares the state), and then comes back
            during = tagged_rows(150, prefix="mid", seed=64)
            streaming = threading.Thread(target=producer.run, args=(during,), kwargs={"rate": 50})
            streaming.start()
            time.sleep(0.5)
            served[0].stop()
            down_at = time.monotonic()
            sent_at_stop = producer.report.sent
            time.sleep(0.3)  # a batch whose effects were under way when it stopped
            decided_at_stop = consumer.stats.handled
            time.sleep(2.7)
            decided_at_restart = consumer.stats.handled
            put_in_outage = producer.report.sent - sent_at_stop
            assert consumer.ready(), "a shard reader stopped while the local AWS was down"
            served.append(LocalAws(port))
            down_for = time.monotonic() - down_at
            streaming.join(30)
            after = tagged_rows(60, prefix="post", seed=65)
            producer.run(after)
            rows = before + during + after
            wait_for_decisions(consumer, len(rows), poll)
            assert consumer.healthy(), "the consumer is unhealthy after the restart"
    finally:
        served[-1].stop()

    # Then the outage was real: for 3 s transactions arrived and none could be decided
    assert down_for >= 3.0, f"the server was down only {down_for:.1f}s"
    assert put_in_outage > 20, f"only {put_in_outage} transactions arrived in the outage"
    assert decided_at_restart == decided_at_stop, (
        f"{decided_at_restart - decided_at_stop} decisions were made with the server down"
    )
    # And every transaction was decided exactly once, and every fraud blocked once
    decisions = assert_decided_exactly_once(local_aws_env, rows)
    frauds = assert_frauds_blocked_once(local_aws_env, decisions)
    # And no alert was lost (one cut off mid-call may have been sent again: SNS is at least
    # once, and an alert whose answer never came back is retried)
    alerts = collect_alerts(local_aws_env, Counter())
    assert set(alerts) == set(frauds), f"alerts missing: {sorted(set(frauds) - set(alerts))}"
    assert consumer.healthy() and not consumer.failed


class UnreachableListing:
    """The S3 client, except that its first ``failures`` listings of objects cannot connect.

    That is what botocore raises once its own retries of a refused connection are spent.
    """

    def __init__(self, s3: Any, failures: int) -> None:
        self._s3 = s3
        self._failures = failures
        self._lock = threading.Lock()
        self.listings = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def get_paginator(self, operation: str) -> Any:
        paginator = self._s3.get_paginator(operation)
        if operation != "list_objects_v2":
            return paginator
        outer = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                return outer._pages(paginator.paginate(**kwargs))

        return Paginator()

    def _pages(self, pages: Any) -> Iterator[dict[str, Any]]:
        with self._lock:
            self.listings += 1
            failing = self.listings <= self._failures
        if failing:
            raise EndpointConnectionError(endpoint_url=self._s3.meta.endpoint_url)
        yield from pages


def test_a_shard_reader_starting_while_the_decisions_log_is_unreachable_waits_for_it(
    local_aws_env, model, poll
) -> None:
    # Given transactions on the stream, and an S3 whose listing of the decisions log (which a
    # shard reader reads when it starts) is unreachable for its first three calls
    rows = tagged_rows(80, prefix="lst", seed=66)
    StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream).run(rows)
    s3 = UnreachableListing(local_aws_env.clients.s3, failures=3)

    # When a consumer starts on it
    consumer = Consumer(local_aws_env.with_clients(s3=s3), SETTINGS, model)
    with running(consumer):
        wait_for_decisions(consumer, len(rows), poll)

        # Then its readers waited for S3 rather than dying, and decided every transaction once
        assert s3.listings > 3, f"only {s3.listings} listings: the outage was not waited out"
        assert consumer.healthy(), f"readers died: {[r.error for r in consumer.failed]}"
    decisions = assert_decided_exactly_once(local_aws_env, rows)
    assert_frauds_blocked_once(local_aws_env, decisions)


# 4. SNS down while frauds arrive ---------------------------------------------------------------


class SnsOutage:
    """The SNS client, except that every call fails while ``down`` is set, as if unreachable.

    The transaction ids of the alerts it refused are recorded.
    """

    def __init__(self, sns: Any) -> None:
        self._sns = sns
        self.down = threading.Event()
        self._lock = threading.Lock()
        self.refused: set[str] = set()
        self.refused_calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._sns, name)
        if not callable(method) or name.startswith("_") or name in {"meta", "exceptions"}:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down.is_set():
                with self._lock:
                    self.refused_calls += 1
                    for entry in kwargs.get("PublishBatchRequestEntries", []):
                        self.refused.add(json.loads(entry["Message"])["tx_id"])
                raise EndpointConnectionError(endpoint_url=self._sns.meta.endpoint_url)
            return method(*args, **kwargs)

        return call


def test_an_sns_outage_holds_the_checkpoint_but_not_the_decisions(
    local_aws_env, model, poll, make_row, make_fraud_row
) -> None:
    env = local_aws_env
    producer = StreamProducer(env.clients.kinesis, env.names.stream)
    checkpoints = checkpoints_of(env)
    serial = iter(range(1_000_000))

    def wave(prefix: str, frauds: int, normal: int) -> list[dict[str, Any]]:
        """Takeovers (each by an account of its own) first, then payments."""
        takeovers = [
            make_fraud_row(tx_id=f"{prefix}-f{i}", nameOrig=f"C7{next(serial):08d}")
            for i in range(frauds)
        ]
        payments = [
            make_row(tx_id=f"{prefix}-n{i}", nameOrig=f"C8{next(serial):08d}")
            for i in range(normal)
        ]
        return takeovers + payments

    def places() -> dict[str, str | None]:
        return {shard: checkpoints.load(shard) for shard in shards}

    def all_checkpointed() -> bool:
        ends = {shard: numbers[-1] for shard, numbers in shard_sequence_numbers(env).items()}
        return places() == ends

    # Given a consumer whose SNS client can be taken down, which has decided, alerted and
    # checkpointed a first wave of transactions
    shards = [
        s["ShardId"] for s in env.clients.kinesis.list_shards(StreamName=env.names.stream)["Shards"]
    ]
    sns = SnsOutage(env.clients.sns)
    consumer = Consumer(env.with_clients(sns=sns), SETTINGS, model)
    alerts: Counter[str] = Counter()
    rows = wave("w1", frauds=4, normal=30)
    with running(consumer):
        producer.run(rows)
        wait_for_decisions(consumer, len(rows), poll)
        poll(all_checkpointed, timeout=20, what="the first wave to be checkpointed")
        collect_alerts(env, alerts)

        # When SNS is unreachable for 4 s while three waves with takeovers arrive
        sns.down.set()
        outage_started = time.monotonic()
        during: list[dict[str, Any]] = []
        seen: list[dict[str, str | None]] = []
        health: list[bool] = []
        for number in range(3):
            burst = wave(f"w2.{number}", frauds=3, normal=20)
            producer.run(burst)
            during += burst
            deadline = time.monotonic() + 0.8
            while time.monotonic() < deadline:
                seen.append(places())
                health.append(consumer.healthy())
                time.sleep(0.1)
        rows += during
        wait_for_decisions(consumer, len(rows), poll, timeout=20)
        decided_in_outage = {d["tx_id"]: d for d in env.decision_log()}
        while time.monotonic() - outage_started < 4.0:
            seen.append(places())
            health.append(consumer.healthy())
            time.sleep(0.1)
        on_stream = shard_sequence_numbers(env)
        seen.append(places())
        collect_alerts(env, alerts)
        sns.down.clear()

        # Then during the outage every transaction was still decided...
        undecided = sorted({row["tx_id"] for row in during} - set(decided_in_outage))
        assert not undecided, f"not decided while SNS was down: {undecided[:10]}"
        assert all(health), "the consumer was unhealthy while SNS was down"
        # ...none of the takeovers' alerts got out, though some were tried...
        takeovers = {row["tx_id"] for row in during if "-f" in row["tx_id"]}
        out = sorted(takeovers & set(alerts))
        assert not out, f"alerts sent with SNS down: {out}"
        assert sns.refused <= takeovers and sns.refused, f"alerts tried: {sns.refused}"
        # ...and no shard's place moved past its first batch whose alerts were not out
        held = 0
        for shard in shards:
            unsent = [
                int(d["sequence_number"])
                for tx_id, d in decided_in_outage.items()
                if tx_id in takeovers and d["shard_id"] == shard
            ]
            if not unsent:
                continue
            held += 1
            first_unsent = min(unsent)
            assert int(on_stream[shard][-1]) > first_unsent, (
                f"{shard}: nothing was read after its first takeover, so nothing could pass it"
            )
            passed = [p[shard] for p in seen if p[shard] and int(p[shard]) >= first_unsent]
            assert not passed, f"{shard}: place saved at {passed[0]}, past unsent alerts"
        assert held, "no shard had a takeover during the outage"

        # When SNS is back
        poll(
            lambda: set(collect_alerts(env, alerts)) >= takeovers,
            timeout=20,
            what="the alerts held up by the outage",
        )

        # Then every shard's place moves to its end, with no new transaction to carry it
        poll(all_checkpointed, timeout=10, what="every shard's place to move to its end")
        assert consumer.healthy(), "the consumer is unhealthy after the SNS outage"

    # And each transaction was decided once, each takeover blocked once and alerted once
    decisions = assert_decided_exactly_once(env, rows)
    frauds = assert_frauds_blocked_once(env, decisions)
    assert set(frauds) == {row["tx_id"] for row in rows if "-f" in row["tx_id"]}, (
        "the decided frauds are not exactly the takeovers"
    )
    collect_alerts(env, alerts)
    assert alerts == Counter(frauds), f"alerts per fraud: {dict(alerts)}"
    assert consumer.healthy() and not consumer.failed
