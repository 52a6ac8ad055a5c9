"""Reading one shard in order, from its checkpoint, until told to stop or the shard closes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import error_code
from app.consumer.checkpoints import CheckpointStore
from app.consumer.processor import BatchProcessor
from app.consumer.reads import ShardReads
from app.consumer.stats import ConsumerStats
from app.pauses import backoff_seconds

logger = logging.getLogger(__name__)

#: Retries of a step that failed on AWS pause up to this long at first, doubling to the cap.
_RETRY_BASE_SECONDS = 0.2
_MAX_RETRY_PAUSE_SECONDS = 5.0


class ShardWorker(threading.Thread):
    """Reads one shard, processes each batch, and saves its place after the effects."""

    def __init__(
        self,
        shard_id: str,
        checkpoints: CheckpointStore,
        processor: BatchProcessor,
        stop: threading.Event,
        *,
        reads: ShardReads,
        stats: ConsumerStats,
        checkpoint_interval_seconds: float = 1.0,
        wait_for: threading.Event | None = None,
    ) -> None:
        super().__init__(name=f"shard-{shard_id}", daemon=True)
        self.shard_id = shard_id
        self._reads = reads
        self._stats = stats
        self._checkpoints = checkpoints
        self._processor = processor
        self._stopping = stop
        self._wait_for = wait_for
        # Saving the place is not on the way to a durable decision; doing it once a second
        # instead of per batch takes a DynamoDB write off every read loop. A restart then
        # repeats at most a second of records, whose effects are all safe to repeat.
        self._checkpoint_interval = checkpoint_interval_seconds
        #: Set when the shard is closed and read to its end, so its children may start.
        self.finished = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # a worker must never die silently
            self.error = error
            logger.exception("shard %s stopped by an error", self.shard_id)
            raise

    def _run(self) -> None:
        if self._wait_for is not None:
            # A child shard starts after its parent is read to the end, so per-account order
            # (one account = one partition key) holds across a reshard.
            while not self._wait_for.wait(0.5):
                if self._stopping.is_set():
                    return
        acquired = time.monotonic()
        last = self._load_checkpoint()
        if self._stopping.is_set() or not self._align_with_log(last):
            return
        # The shard's last reader (another consumer) may have blocked accounts just now; their
        # blocks reach this consumer's copy of the list only at its next refresh, unless read now.
        if not self._until_done(
            lambda: self._processor.catch_up_on_blocks(acquired),
            "blocklist_refresh",
            "reading the block list",
        ):
            return
        logger.info("shard %s acquired, resuming after %s", self.shard_id, last or "its start")
        saved = last
        next_checkpoint = time.monotonic() + self._checkpoint_interval
        closed = False
        for delivery in self._reads.deliveries(last):
            records = delivery.records
            self._stats.record_read(self.shard_id, len(records), delivery.millis_behind)
            if records:
                if not self._process_until_durable(records):
                    break
                last = records[-1]["SequenceNumber"]
            # The place moves only past batches whose alerts are out. While SNS is down it
            # stays behind, but reading and deciding go on: an outage of the alerts must not
            # stop the blocking. It is saved on empty reads too, so a shard that goes quiet
            # (or whose alerts come out after an outage) does not keep an old place.
            if (
                last is not None
                and last != saved
                and time.monotonic() >= next_checkpoint
                and self._processor.settle(self.shard_id, wait=False)
            ):
                if self._save_checkpoint(last):
                    saved = last
                next_checkpoint = time.monotonic() + self._checkpoint_interval
            if delivery.shard_ended:
                closed = True
                break
            if self._stopping.is_set():
                break

        if last is not None and last != saved and self._processor.settle(self.shard_id):
            self._save_checkpoint(last)
        self._stats.forget_shard(self.shard_id)
        if closed:
            logger.info("shard %s is closed and fully read", self.shard_id)
            self.finished.set()

    def _load_checkpoint(self) -> str | None:
        """The saved place, waiting out errors (the table unreachable) until told to stop."""
        place: list[str | None] = [None]

        def load() -> None:
            place[0] = self._checkpoints.load(self.shard_id)

        self._until_done(load, "checkpoint_load", "reading its place")
        return place[0]

    def _align_with_log(self, last: str | None) -> bool:
        """Learn how the logged batches after the place were cut, waiting out errors (the
        decisions log unreachable) until told to stop; False if told to stop first.

        Reading the shard before that would log its replayed batches a second time.
        """
        return self._until_done(
            lambda: self._processor.align_with_log(self.shard_id, after=last),
            "decisions_log_listing",
            "reading its decisions log",
        )

    def _save_checkpoint(self, sequence_number: str) -> bool:
        """Save the place; a failure only means more records are read again after a restart."""
        try:
            self._checkpoints.save(self.shard_id, sequence_number)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "cannot save the place of shard %s (%s); will try again",
                self.shard_id,
                error_code(error),
            )
            return False
        return True

    def _process_until_durable(self, records: list[dict[str, Any]]) -> bool:
        """Retry a batch until its effects are durable: the place is never saved past a loss.

        Returns False when told to stop first; the checkpoint then stays before this batch,
        so whoever reads the shard next processes it again.
        """
        return self._until_done(
            lambda: self._processor.process(self.shard_id, records),
            None,  # counted as a batch failure by the processor itself
            f"a batch of {len(records)} records",
            details=True,
        )

    def _until_done(
        self, step: Callable[[], object], operation: str | None, what: str, details: bool = False
    ) -> bool:
        """Run ``step`` until it succeeds, waiting out AWS errors with jittered pauses that
        double up to a cap; False if told to stop first."""
        failures = 0
        while True:
            try:
                step()
                return True
            except (ClientError, BotoCoreError, RuntimeError) as error:
                pause = backoff_seconds(failures, _RETRY_BASE_SECONDS, _MAX_RETRY_PAUSE_SECONDS)
                failures += 1
                logger.warning(
                    "shard %s: %s failed (%s); retrying in %.1fs",
                    self.shard_id,
                    what,
                    error_code(error),
                    pause,
                    exc_info=error if details else None,
                )
                if operation is not None:
                    self._stats.record_retry(operation)
            if self._stopping.wait(pause):
                return False
