"""Polling reads (``app.consumer.reads``) through a scripted Kinesis client: the end of a shard
closed by a reshard, which the local AWS never reports (it keeps its shards open)."""

from __future__ import annotations

import threading
from typing import Any

from app.consumer import reads as reads_module
from app.consumer.checkpoints import CheckpointStore
from app.consumer.reads import PollingReads
from app.consumer.shard_reader import ShardWorker
from app.consumer.stats import ConsumerStats

SHARD = "shardId-000000000000"


class ClosingShard:
    """Answers reads of one shard with scripted pages; the last has no next iterator."""

    def __init__(self, pages: list[list[int]]) -> None:
        self._pages = pages
        self.iterator_requests: list[dict[str, Any]] = []

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
        self.iterator_requests.append(kwargs)
        return {"ShardIterator": "page-0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        page = int(ShardIterator.split("-")[1])
        last = page == len(self._pages) - 1
        return {
            "Records": [{"SequenceNumber": str(n), "Data": b"{}"} for n in self._pages[page]],
            "MillisBehindLatest": 0,
            **({} if last else {"NextShardIterator": f"page-{page + 1}"}),
        }


def test_a_closed_shard_is_read_to_its_end_and_the_end_is_said() -> None:
    # Given a shard closed by a reshard: two pages, the last without a next iterator
    kinesis = ClosingShard([[1, 2], [3]])
    reads = PollingReads(
        kinesis,
        "stream",
        SHARD,
        threading.Event(),
        poll_interval_seconds=0.0,
        max_records_per_read=100,
    )

    # When it is read from a saved place
    deliveries = list(reads.deliveries("0"))

    # Then every record comes once, the last delivery says the shard ended, and reading stops
    numbers = [r["SequenceNumber"] for d in deliveries for r in d.records]
    assert numbers == ["1", "2", "3"]
    assert [d.shard_ended for d in deliveries] == [False, True]
    assert kinesis.iterator_requests == [
        {
            "StreamName": "stream",
            "ShardId": SHARD,
            "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
            "StartingSequenceNumber": "0",
        }
    ]


class Recording:
    """A processor that records what it is given and has its alerts out at once."""

    def __init__(self) -> None:
        self.processed: list[str] = []

    def settle(self, shard_id: str, wait: bool = True) -> bool:
        return True

    def align_with_log(self, shard_id: str, after: str | None) -> None:
        pass

    def catch_up_on_blocks(self, since: float) -> None:
        pass

    def process(self, shard_id: str, records: list[dict[str, Any]]) -> list[Any]:
        self.processed += [r["SequenceNumber"] for r in records]
        return []


def test_a_reader_of_a_closed_shard_saves_its_end_and_says_it_finished(local_aws_env) -> None:
    # Given a reader of a closed shard of three records
    stop = threading.Event()
    store = CheckpointStore(local_aws_env.clients, local_aws_env.names.checkpoint_table, "s@1")
    processor = Recording()
    reads = PollingReads(
        ClosingShard([[1, 2], [3]]),
        "s",
        SHARD,
        stop,
        poll_interval_seconds=0.0,
        max_records_per_read=100,
    )
    worker = ShardWorker(
        SHARD,
        store,
        processor,  # type: ignore[arg-type]
        stop,
        reads=reads,
        stats=ConsumerStats(),
    )

    # When it runs
    worker.start()
    worker.join(10)

    # Then it handled every record, saved its place at the end, and let its children start
    assert not worker.is_alive() and worker.error is None
    assert processor.processed == ["1", "2", "3"]
    assert store.load(SHARD) == "3"
    assert worker.finished.is_set()


class AnswersEmptyOnce(ClosingShard):
    """The closing shard, whose first read is answered with no body (a server restarting)."""

    def __init__(self, pages: list[list[int]]) -> None:
        super().__init__(pages)
        self.reads = 0

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.reads += 1
        if self.reads == 1:
            return {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return super().get_records(ShardIterator, Limit)


def test_an_answer_without_records_is_read_again_not_taken_for_the_end(monkeypatch) -> None:
    # Given a shard whose first read comes back without records (nor a next iterator)
    monkeypatch.setattr(reads_module, "_RETRY_BASE_SECONDS", 0.0)
    kinesis = AnswersEmptyOnce([[1, 2], [3]])
    retried: list[str] = []
    reads = PollingReads(
        kinesis,
        "stream",
        SHARD,
        threading.Event(),
        poll_interval_seconds=0.0,
        max_records_per_read=100,
        on_retry=retried.append,
    )

    # When it is read
    deliveries = list(reads.deliveries(None))

    # Then the read was retried, every record came, and only the real last page ended it
    assert [r["SequenceNumber"] for d in deliveries for r in d.records] == ["1", "2", "3"]
    assert [d.shard_ended for d in deliveries] == [False, True]
    assert retried == ["get_records"]
