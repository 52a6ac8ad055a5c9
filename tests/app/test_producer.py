"""Tests for putting transactions on the stream (``app.producer``), against the local AWS."""

from __future__ import annotations

import json
import random
from collections import Counter
from itertools import islice
from typing import Any

import pytest

from app.errors import ProducerError
from app.producer import StreamProducer, with_transaction_ids
from ml.simulator import simulate_transactions


class FailingPutRecords:
    """A Kinesis client whose put_records refuses chosen entries on its first calls.

    The refused entries are not written; the rest go to the real client. Every call's entries
    are recorded, so a test can see what was re-sent.
    """

    def __init__(self, kinesis: Any, refuse: set[int], *, failing_calls: int = 1) -> None:
        self._kinesis = kinesis
        self._refuse = refuse
        self._failing_calls = failing_calls
        self.calls: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kinesis, name)

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(list(Records))
        if len(self.calls) > self._failing_calls:
            return self._kinesis.put_records(StreamName=StreamName, Records=Records)
        accepted = [e for i, e in enumerate(Records) if i not in self._refuse]
        written = iter(
            self._kinesis.put_records(StreamName=StreamName, Records=accepted)["Records"]
            if accepted
            else []
        )
        results = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
            if i in self._refuse
            else next(written)
            for i in range(len(Records))
        ]
        return {
            "FailedRecordCount": len(self._refuse & set(range(len(Records)))),
            "Records": results,
        }


def rows(count: int, *, seed: int = 5) -> list[dict[str, Any]]:
    return list(islice(simulate_transactions(seed=seed, fraud_rate=0.05), count))


def decoded(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(record["Data"]) for record in records]


class Sleeps:
    """A stand-in for time.sleep that records each pause instead of taking it."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


def retry_ceiling(attempt: int) -> float:
    """The longest pause allowed after failed attempt ``attempt``: 50 ms doubling to 2 s."""
    return min(2.0, 0.05 * 2**attempt)


def test_stream_producer_rows_arrive_keyed_by_sender_with_ids(local_aws_env) -> None:
    # Given 120 generated rows
    sent = rows(120)
    producer = StreamProducer(
        local_aws_env.clients.kinesis, local_aws_env.names.stream, clock=lambda: 1_700_000_000.25
    )

    # When they are produced as fast as possible
    report = producer.run(sent)

    # Then every row is on the stream, keyed by its sender, with a unique tx_id and sent_at
    records = local_aws_env.stream_records()
    assert len(records) == 120, f"{len(records)} records on {local_aws_env.names.stream}"
    for record in records:
        body = json.loads(record["Data"])
        assert record["PartitionKey"] == body["nameOrig"], f"record {body['tx_id']} mis-keyed"
        assert body["sent_at"] == 1_700_000_000.25, f"record {body['tx_id']} sent_at"
    ids = [body["tx_id"] for body in decoded(records)]
    assert len(set(ids)) == 120, "transaction ids must be unique"
    bodies = {(b["nameOrig"], b["amount"], b["step"]) for b in decoded(records)}
    assert bodies == {(r["nameOrig"], r["amount"], r["step"]) for r in sent}, "rows changed"
    assert report.sent == 120 and report.calls == 1, f"report {report}"
    # And both shards were used: keys spread across the stream
    assert len({record["ShardId"] for record in records}) == 2


def test_stream_producer_keeps_a_sender_in_order_on_one_shard(local_aws_env, make_row) -> None:
    # Given five transactions of one sender among others
    sent = []
    for i in range(5):
        sent.append(make_row(nameOrig="C42", step=i + 1, tx_id=f"mine-{i}"))
        sent.append(make_row(nameOrig=f"C9{i}", tx_id=f"other-{i}"))

    # When produced
    StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream).run(sent)

    # Then the sender's records are on one shard, in the order sent
    mine = [r for r in local_aws_env.stream_records() if r["PartitionKey"] == "C42"]
    assert len({r["ShardId"] for r in mine}) == 1, "one sender spread over shards"
    assert [json.loads(r["Data"])["tx_id"] for r in mine] == [f"mine-{i}" for i in range(5)]


def test_stream_producer_limit_is_honoured(local_aws_env) -> None:
    producer = StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream)

    report = producer.run(simulate_transactions(seed=1), limit=37)

    assert report.sent == 37, f"report {report}"
    assert len(local_aws_env.stream_records()) == 37


def test_stream_producer_batches_at_most_500_per_call(local_aws_env) -> None:
    spy = FailingPutRecords(local_aws_env.clients.kinesis, refuse=set(), failing_calls=0)
    producer = StreamProducer(spy, local_aws_env.names.stream)

    producer.run(rows(1100))

    assert [len(call) for call in spy.calls] == [500, 500, 100]
    assert len(local_aws_env.stream_records()) == 1100


def test_stream_producer_keeps_a_given_tx_id(make_row) -> None:
    given, fresh = make_row(tx_id="keep-me"), make_row()

    out = list(with_transaction_ids(iter([given, fresh])))

    assert out[0]["tx_id"] == "keep-me"
    assert out[1]["tx_id"] and out[1]["tx_id"] != "keep-me"
    assert "tx_id" not in fresh, "the caller's row must not be changed"


def test_stream_producer_resends_only_the_failed_entries(local_aws_env) -> None:
    # Given a stream that refuses entries 1, 4 and 7 of the first call
    sent = [{**row, "tx_id": f"tx-{i}"} for i, row in enumerate(rows(10))]
    kinesis = FailingPutRecords(local_aws_env.clients.kinesis, refuse={1, 4, 7})
    sleeps = Sleeps()
    producer = StreamProducer(kinesis, local_aws_env.names.stream, sleep=sleeps)

    # When the batch is put
    producer.put_batch(sent)

    # Then it paused once between the calls, for at most the first retry's 50 ms
    assert len(sleeps.taken) == 1, f"pauses {sleeps.taken} for one retry"
    assert 0.0 <= sleeps.taken[0] <= retry_ceiling(0), f"pause {sleeps.taken[0]}s"

    # And the second call carried exactly the refused entries, unchanged
    assert len(kinesis.calls) == 2, f"{len(kinesis.calls)} PutRecords calls"
    first, second = kinesis.calls
    assert second == [first[1], first[4], first[7]], "only the refused entries are re-sent"
    assert [json.loads(e["Data"])["tx_id"] for e in second] == ["tx-1", "tx-4", "tx-7"]

    # And every row is on the stream exactly once
    counts = Counter(body["tx_id"] for body in decoded(local_aws_env.stream_records()))
    assert counts == Counter(f"tx-{i}" for i in range(10)), f"on the stream: {counts}"
    assert producer.report.retried_entries == 3


def test_stream_producer_report_counts_each_row_once_after_a_partial_failure(
    local_aws_env,
) -> None:
    sent = rows(10)
    kinesis = FailingPutRecords(local_aws_env.clients.kinesis, refuse={1, 4, 7})
    producer = StreamProducer(kinesis, local_aws_env.names.stream, sleep=Sleeps())

    producer.put_batch(sent)

    assert producer.report.sent == 10, f"report {producer.report} for a batch of 10"


def test_stream_producer_gives_up_after_the_retries(local_aws_env) -> None:
    # Given a stream that refuses entry 0 on every call
    kinesis = FailingPutRecords(local_aws_env.clients.kinesis, refuse={0}, failing_calls=100)
    sleeps = Sleeps()
    producer = StreamProducer(
        kinesis, local_aws_env.names.stream, sleep=sleeps, rng=random.Random(8)
    )

    # When / Then the producer stops with an error that says what to do
    with pytest.raises(ProducerError, match="add shards or lower --rate"):
        producer.put_batch(rows(3))
    assert len(kinesis.calls) == 8, "eight attempts"
    assert all(len(call) == 1 for call in kinesis.calls[1:]), "only the refused entry re-sent"

    # And it paused between attempts, not after the last: each pause within its doubling
    # range, jittered over the whole of it rather than the doubling itself
    pauses = sleeps.taken
    assert len(pauses) == 7, f"{len(pauses)} pauses for 8 attempts: {pauses}"
    ceilings = [retry_ceiling(attempt) for attempt in range(7)]
    assert all(0.0 <= p <= c for p, c in zip(pauses, ceilings, strict=True)), (
        f"pauses {pauses} outside 0 to {ceilings}"
    )
    assert len(set(pauses)) == len(pauses), f"repeated pauses, no jitter: {pauses}"
    assert any(p < c / 2 for p, c in zip(pauses, ceilings, strict=True)), (
        f"no pause in the lower half of its range, so not full jitter: {pauses}"
    )


def test_stream_producer_missing_stream_says_how_to_create_it(local_aws_env) -> None:
    # Given a producer pointed at a stream that does not exist
    producer = StreamProducer(local_aws_env.clients.kinesis, "no-such-stream")

    # When it runs, Then it stops before sending, naming the stream and the way out
    with pytest.raises(ProducerError, match=r"no-such-stream does not exist.*fds local serve"):
        producer.run(simulate_transactions(seed=1), limit=5)
    assert producer.report.sent == 0


def test_stream_producer_paced_sends_gather_what_falls_due_within_the_linger(
    local_aws_env,
) -> None:
    # Given a producer at 400 records a second that waits 50 ms between calls
    spy = FailingPutRecords(local_aws_env.clients.kinesis, refuse=set(), failing_calls=0)
    producer = StreamProducer(spy, local_aws_env.names.stream, linger_seconds=0.05)

    # When 100 records are paced out (about a quarter of a second)
    report = producer.run(rows(100), rate=400)

    # Then they all arrive, in calls no closer than the linger, each carrying several records
    assert len(local_aws_env.stream_records()) == 100
    most_calls = report.elapsed_seconds / 0.05 + 2
    assert report.calls <= most_calls, f"{report.calls} calls in {report.elapsed_seconds:.2f}s"
    assert min(len(call) for call in spy.calls[1:-1]) > 1, [len(c) for c in spy.calls]
