"""Tests for reading one shard from its checkpoint (``app.consumer.shard_reader``)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from app.consumer.checkpoints import CheckpointStore
from app.consumer.reads import PollingReads
from app.consumer.shard_reader import ShardWorker
from app.consumer.stats import ConsumerStats

SHARD = "shardId-000000000000"
#: A hash key inside the first shard's range, to put records on that shard.
FIRST_SHARD_HASH_KEY = "0"


class FlakyProcessor:
    """Records each batch it is given; the first call raises ``error`` instead."""

    def __init__(self, error: BaseException | None = None, alerts_published: bool = True) -> None:
        self._error = error
        self._alerts_published = alerts_published
        self.calls = 0
        self.batches: list[list[str]] = []

    def settle(self, shard_id: str, wait: bool = True) -> bool:
        return self._alerts_published

    def align_with_log(self, shard_id: str, after: str | None) -> None:
        self.aligned_after = after

    def catch_up_on_blocks(self, since: float) -> None:
        pass

    def process(self, shard_id: str, records: list[dict[str, Any]]) -> list[Any]:
        self.calls += 1
        if self._error is not None and self.calls == 1:
            raise self._error
        self.batches.append([json.loads(r["Data"])["tx_id"] for r in records])
        return []

    @property
    def processed(self) -> list[str]:
        return [tx_id for batch in self.batches for tx_id in batch]


def put_on_first_shard(env, tx_ids: list[str]) -> list[str]:
    sequence_numbers = []
    for tx_id in tx_ids:
        response = env.clients.kinesis.put_record(
            StreamName=env.names.stream,
            Data=json.dumps({"tx_id": tx_id}).encode(),
            PartitionKey=tx_id,
            ExplicitHashKey=FIRST_SHARD_HASH_KEY,
        )
        assert response["ShardId"] == SHARD, f"{tx_id} went to {response['ShardId']}"
        sequence_numbers.append(response["SequenceNumber"])
    return sequence_numbers


def run_worker(env, processor: FlakyProcessor, expected: int, poll) -> ShardWorker:
    """Run a worker on the first shard until ``expected`` records are processed or it dies."""
    stop = threading.Event()
    checkpoints = CheckpointStore(env.clients, env.names.checkpoint_table, env.names.stream)
    reads = PollingReads(
        env.clients.kinesis,
        env.names.stream,
        SHARD,
        stop,
        poll_interval_seconds=0.01,
        max_records_per_read=100,
    )
    worker = ShardWorker(
        SHARD,
        checkpoints,
        processor,  # type: ignore[arg-type]
        stop,
        reads=reads,
        stats=ConsumerStats(),
    )
    worker.start()
    try:
        poll(
            lambda: len(processor.processed) >= expected or not worker.is_alive(),
            timeout=30,
            what=f"{expected} records processed on {SHARD}",
        )
    finally:
        stop.set()
        worker.join(10)
    return worker


def test_shard_worker_processes_in_order_and_saves_its_place(local_aws_env, poll) -> None:
    # Given three records on the first shard
    sequence_numbers = put_on_first_shard(local_aws_env, ["t1", "t2", "t3"])
    processor = FlakyProcessor()

    # When a worker reads the shard and is stopped
    worker = run_worker(local_aws_env, processor, 3, poll)

    # Then it processed them in order and saved the last one's sequence number
    assert worker.error is None, f"worker failed: {worker.error!r}"
    assert processor.processed == ["t1", "t2", "t3"]
    store = CheckpointStore(
        local_aws_env.clients, local_aws_env.names.checkpoint_table, local_aws_env.names.stream
    )
    assert store.load(SHARD) == sequence_numbers[-1], "checkpoint is not the last record"


def test_shard_worker_keeps_its_place_before_batches_with_unpublished_alerts(
    local_aws_env, poll
) -> None:
    # Given records whose alerts cannot be published before the worker stops
    put_on_first_shard(local_aws_env, ["t1", "t2"])
    processor = FlakyProcessor(alerts_published=False)

    # When a worker processes them and is stopped
    worker = run_worker(local_aws_env, processor, 2, poll)

    # Then no place is saved, so the next reader handles them (and their alerts) again
    assert worker.error is None, f"worker failed: {worker.error!r}"
    store = CheckpointStore(
        local_aws_env.clients, local_aws_env.names.checkpoint_table, local_aws_env.names.stream
    )
    assert store.load(SHARD) is None, "the place moved past batches with unpublished alerts"


def test_shard_worker_resumes_after_its_checkpoint(local_aws_env, poll) -> None:
    # Given a shard read up to t2, then a new record t3
    put_on_first_shard(local_aws_env, ["t1", "t2"])
    run_worker(local_aws_env, FlakyProcessor(), 2, poll)
    put_on_first_shard(local_aws_env, ["t3"])

    # When a new worker reads the shard
    processor = FlakyProcessor()
    run_worker(local_aws_env, processor, 1, poll)

    # Then it starts after the checkpoint
    assert processor.processed == ["t3"], f"resumed worker processed {processor.processed}"


def test_shard_worker_retries_a_batch_whose_effects_failed(local_aws_env, poll) -> None:
    # Given a processor that fails with an AWS error once
    put_on_first_shard(local_aws_env, ["t1", "t2"])
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "PutItem")
    processor = FlakyProcessor(throttled)

    # When the worker reads the shard
    worker = run_worker(local_aws_env, processor, 2, poll)

    # Then the same batch is processed again, and the worker lives on
    assert worker.error is None, f"worker died: {worker.error!r}"
    assert processor.processed == ["t1", "t2"] and processor.calls == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_shard_worker_retries_a_batch_after_a_lost_connection(local_aws_env, poll) -> None:
    # Given a processor whose first call loses the connection to AWS
    put_on_first_shard(local_aws_env, ["t1"])
    lost = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    processor = FlakyProcessor(lost)

    # When the worker reads the shard
    worker = run_worker(local_aws_env, processor, 1, poll)

    # Then it retried the batch and lives on
    assert worker.error is None, f"worker died: {worker.error!r}"
    assert processor.processed == ["t1"]
