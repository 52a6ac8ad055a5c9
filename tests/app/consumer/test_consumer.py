"""End-to-end tests of the consumer (``app.consumer.consumer``): stream in, decisions out."""

from __future__ import annotations

from collections import Counter
from itertools import islice
from typing import Any

import pytest

from app.consumer.consumer import Consumer
from app.errors import AwsSetupError
from app.producer import StreamProducer
from app.records import encode_record
from app.settings import Settings
from ml.simulator import simulate_transactions

SETTINGS = Settings(environment="local", poll_interval_seconds=0.01)


def tagged_rows(count: int, *, prefix: str, seed: int) -> list[dict[str, Any]]:
    """Generated rows with known transaction ids, so the log can be checked against them."""
    rows = islice(simulate_transactions(seed=seed, fraud_rate=0.05, retry_share=0.5), count)
    return [{"tx_id": f"{prefix}-{i}", **row} for i, row in enumerate(rows)]


def run_until_handled(consumer: Consumer, count: int, poll) -> None:
    consumer.start()
    try:
        poll(
            lambda: consumer.stats.handled >= count or bool(consumer.failed),
            timeout=60,
            what=f"the consumer to handle {count} records",
        )
    finally:
        consumer.stop()
    assert not consumer.failed, f"shard workers failed: {[w.error for w in consumer.failed]}"


def test_consumer_decides_every_transaction_once_and_resumes_after_a_restart(
    local_aws_env, model, poll
) -> None:
    producer = StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream)

    # Given 240 transactions on the stream
    first = tagged_rows(240, prefix="a", seed=31)
    producer.run(first)

    # When a consumer reads them and is stopped
    consumer = Consumer(local_aws_env.clients, SETTINGS, model)
    run_until_handled(consumer, len(first), poll)

    # Then each was decided exactly once, and some were fraud
    assert consumer.stats.handled == consumer.stats.decisions == 240, consumer.stats.verdicts
    assert consumer.stats.verdicts["fraud"] > 0, f"verdicts {consumer.stats.verdicts}"
    # ...and the exported metrics agree with the consumer's own tallies
    exported = consumer.stats.metrics.decisions
    for verdict, count in consumer.stats.verdicts.items():
        assert exported.labels(verdict=verdict)._value.get() == count, verdict
    assert not consumer.ready(), "a stopped consumer must not report ready"
    assert consumer.healthy()
    logged = Counter(d["tx_id"] for d in local_aws_env.decision_log())
    assert logged == Counter(row["tx_id"] for row in first), "decisions log after the first run"
    log_after_first_run = local_aws_env.decision_log_objects()

    # Given 90 more transactions put while no consumer runs
    second = tagged_rows(90, prefix="b", seed=32)
    producer.run(second)

    # When a new consumer starts
    restarted = Consumer(local_aws_env.clients, SETTINGS, model)
    run_until_handled(restarted, len(second), poll)

    # Then it decided only the new ones, resuming from the checkpoints
    assert restarted.stats.handled == restarted.stats.decisions == 90, restarted.stats.verdicts
    objects = local_aws_env.decision_log_objects()
    for key, text in log_after_first_run.items():
        assert objects.get(key) == text, f"decisions-log object {key} was rewritten"
    logged = Counter(d["tx_id"] for d in local_aws_env.decision_log())
    duplicates = {tx_id: n for tx_id, n in logged.items() if n > 1}
    assert not duplicates, f"decided more than once: {duplicates}"
    assert set(logged) == {row["tx_id"] for row in first + second}, "a transaction is missing"


def test_consumer_refuses_a_taken_over_account_that_tries_again(
    local_aws_env, model, poll, make_fraud_row, make_row
) -> None:
    # Given a takeover, then later a payment by the same account
    rows = [
        make_fraud_row(tx_id="t-1", nameOrig="C808"),
        make_row(tx_id="t-2", nameOrig="C901"),
        make_row(tx_id="t-3", nameOrig="C808"),
    ]
    StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream).run(rows)

    # When the consumer runs
    consumer = Consumer(local_aws_env.clients, SETTINGS, model)
    run_until_handled(consumer, 3, poll)

    # Then the takeover is fraud, the retry refused, the other payment normal
    logged = {d["tx_id"]: d["verdict"] for d in local_aws_env.decision_log()}
    assert logged == {"t-1": "fraud", "t-2": "normal", "t-3": "refused"}, logged
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["t-1"]


def test_consumer_start_without_resources_names_the_missing_queue(local_aws_env, model) -> None:
    # Given a local AWS without the dead-letter queue
    local_aws_env.clients.sqs.delete_queue(QueueUrl=local_aws_env.resources.dead_letter_url)

    # When / Then starting says which queue is missing
    with pytest.raises(AwsSetupError, match=local_aws_env.names.dead_letter_queue):
        Consumer(local_aws_env.clients, SETTINGS, model).start()


def test_consumer_reads_only_the_shards_it_is_given(local_aws_env, model, poll) -> None:
    kinesis = local_aws_env.clients.kinesis
    stream = local_aws_env.names.stream
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    assert len(shards) >= 2, "the local stream should have several shards"
    rows = tagged_rows(60, prefix="s", seed=41)
    StreamProducer(kinesis, stream).run(rows)
    on_first = {
        record["SequenceNumber"]
        for record in kinesis.get_records(
            ShardIterator=kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shards[0], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )["Records"]
    }
    assert 0 < len(on_first) < 60, "the rows should spread over the shards"

    consumer = Consumer(
        local_aws_env.clients, SETTINGS.model_copy(update={"shard_ids": shards[:1]}), model
    )
    run_until_handled(consumer, len(on_first), poll)

    logged = {d["sequence_number"] for d in local_aws_env.decision_log()}
    assert logged == on_first


def test_consumer_refuses_a_shard_the_stream_does_not_have(local_aws_env, model) -> None:
    settings = SETTINGS.model_copy(update={"shard_ids": ["shardId-999"]})
    with pytest.raises(AwsSetupError, match=r"FDS_SHARD_IDS.*shardId-999"):
        Consumer(local_aws_env.clients, settings, model).start()


def test_two_consumers_share_the_shards_and_decide_each_transaction_once(
    local_aws_env, model, poll
) -> None:
    # Given transactions on a two-shard stream, and two consumers with short leases
    producer = StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream)
    first = tagged_rows(200, prefix="p", seed=51)
    producer.run(first)
    settings = SETTINGS.model_copy(update={"lease_seconds": 1.5})
    one = Consumer(local_aws_env.clients, settings.model_copy(update={"consumer_id": "one"}), model)
    two = Consumer(local_aws_env.clients, settings.model_copy(update={"consumer_id": "two"}), model)

    # When the first starts alone, then the second joins, and more transactions arrive
    one.start()
    poll(lambda: one.stats.handled >= len(first), timeout=60, what="the first consumer")
    two.start()
    try:
        poll(
            lambda: len(one.readers) == 1 and len(two.readers) == 1,
            timeout=30,
            what="the second consumer to be handed a shard",
        )
        second = tagged_rows(200, prefix="q", seed=52)
        producer.run(second)
        poll(
            lambda: one.stats.handled + two.stats.handled >= len(first) + len(second),
            timeout=60,
            what="both consumers to handle every transaction",
        )
    finally:
        two.stop()
        one.stop()

    # Then each read one shard, neither failed, and every transaction was decided exactly once
    assert one.healthy() and two.healthy()
    assert two.stats.handled > 0, "the second consumer read nothing"
    logged = Counter(d["tx_id"] for d in local_aws_env.decision_log())
    assert logged == Counter(row["tx_id"] for row in first + second), "missing or doubled"


def put_on(kinesis: Any, stream: str, row: dict[str, Any]) -> str:
    """Put one row keyed by its sender, as the producer does; the shard it went to."""
    response = kinesis.put_record(
        StreamName=stream, Data=encode_record(row), PartitionKey=str(row["nameOrig"])
    )
    return str(response["ShardId"])


def test_a_shard_taken_over_refuses_what_its_last_reader_just_blocked(
    local_aws_env, model, poll, make_fraud_row, make_row
) -> None:
    # Given two consumers sharing the shards, the second one's block list read before any block
    # (and not refreshed by itself for a long while)
    kinesis, stream = local_aws_env.clients.kinesis, local_aws_env.names.stream
    settings = SETTINGS.model_copy(update={"lease_seconds": 1.5})
    first = Consumer(local_aws_env.clients, settings.model_copy(update={"consumer_id": "a"}), model)
    second = Consumer(
        local_aws_env.clients,
        settings.model_copy(update={"consumer_id": "b", "blocklist_refresh_seconds": 1000.0}),
        model,
    )
    first.start()
    second.start()
    try:
        poll(
            lambda: len(first.readers) == 1 and len(second.readers) == 1,
            timeout=30,
            what="the shards to be split",
        )
        # A takeover by an account whose shard the first consumer reads
        first_shard = first.readers[0].shard_id
        account = next(
            f"C90000{n:04d}"
            for n in range(1000)
            if put_on(kinesis, stream, make_row(tx_id=f"probe-{n}", nameOrig=f"C90000{n:04d}"))
            == first_shard
        )
        put_on(kinesis, stream, make_fraud_row(tx_id="takeover", nameOrig=account))
        poll(lambda: first.stats.verdicts["fraud"] == 1, timeout=30, what="the takeover")

        # When the first consumer stops and the second takes its shard over
        first.stop()
        poll(lambda: len(second.readers) == 2, timeout=30, what="the shard to change hands")

        # Then the account's next payment, now read by the second, is refused
        put_on(kinesis, stream, make_row(tx_id="after", nameOrig=account))
        poll(
            lambda: any(d["tx_id"] == "after" for d in local_aws_env.decision_log()),
            timeout=30,
            what="the payment after the takeover",
        )
    finally:
        second.stop()
        first.stop()
    verdicts = {d["tx_id"]: d["verdict"] for d in local_aws_env.decision_log()}
    assert verdicts["takeover"] == "fraud"
    assert verdicts["after"] == "refused", "the block of the shard's last reader was missed"
