"""The consumer: one worker per shard, sharing a model, the effects and the statistics."""

from __future__ import annotations

import logging
import threading
import time

from botocore.exceptions import ClientError

from app.aws import AwsClients
from app.consumer.blocklist import BlockList
from app.consumer.checkpoints import CheckpointStore
from app.consumer.effects import Effects
from app.consumer.metrics import ConsumerMetrics
from app.consumer.processor import BatchProcessor
from app.consumer.shard_reader import ShardWorker
from app.consumer.stats import ConsumerStats
from app.errors import AwsSetupError
from app.pauses import freeze_long_lived_objects
from app.resources import resolve
from app.settings import Settings
from ml.model import FraudModel

logger = logging.getLogger(__name__)

_MISSING_RESOURCE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchBucket",
        "404",
        "NotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
    }
)


class Consumer:
    """Reads every shard of the stream and acts on each transaction."""

    def __init__(self, clients: AwsClients, settings: Settings, model: FraudModel) -> None:
        self._clients = clients
        self._settings = settings
        self._model = model
        self.stats = ConsumerStats(metrics=ConsumerMetrics(model.version))
        self._stop = threading.Event()
        self._workers: list[ShardWorker] = []
        self._processor: BatchProcessor | None = None

    def start(self) -> None:
        names = self._settings.names
        resources = resolve(self._clients, names)
        effects = Effects(self._clients, resources)
        checkpoints = CheckpointStore(self._clients, names.checkpoint_table, names.stream)
        try:
            effects.warm_up()
            checkpoints.load("warm-up")
        except ClientError as error:
            if error.response["Error"]["Code"] not in _MISSING_RESOURCE_CODES:
                raise
            raise AwsSetupError(
                f"a resource the consumer needs is missing ({error}); the names in use are "
                f"{names.model_dump()}: start `fds local serve`, deploy the stack, or correct "
                "the FDS_* name settings"
            ) from error
        self._model.warm_up()
        blocklist = BlockList(effects, self._settings.blocklist_refresh_seconds)
        processor = BatchProcessor(self._model, effects, self.stats, blocklist=blocklist)
        self._processor = processor

        shards = self._clients.kinesis.list_shards(StreamName=names.stream)["Shards"]
        if self._settings.shard_ids:
            known = {shard["ShardId"] for shard in shards}
            unknown = sorted(set(self._settings.shard_ids) - known)
            if unknown:
                raise AwsSetupError(
                    f"FDS_SHARD_IDS names shards that stream {names.stream} does not have: "
                    f"{', '.join(unknown)}; its shards are {', '.join(sorted(known))}"
                )
            shards = [s for s in shards if s["ShardId"] in self._settings.shard_ids]
        by_id: dict[str, ShardWorker] = {}
        # list_shards returns parents before children, so a parent's worker exists first.
        for shard in shards:
            parent = by_id.get(shard.get("ParentShardId", ""))
            worker = ShardWorker(
                self._clients,
                names.stream,
                shard["ShardId"],
                checkpoints,
                processor,
                self._stop,
                poll_interval_seconds=self._settings.poll_interval_seconds,
                max_records_per_read=self._settings.max_records_per_read,
                wait_for=parent.finished if parent else None,
            )
            by_id[worker.shard_id] = worker
        self._workers = list(by_id.values())
        # Everything loaded so far (models, service definitions) lives as long as the consumer;
        # taking it out of garbage collection keeps full collections from pausing decisions.
        freeze_long_lived_objects()
        for worker in self._workers:
            worker.start()
        logger.info(
            "consumer started on %s: %d shards, model %s",
            names.stream,
            len(self._workers),
            self._model.version,
        )

    @property
    def failed(self) -> list[ShardWorker]:
        return [w for w in self._workers if w.error is not None]

    def healthy(self) -> bool:
        """No shard reader has died of an error."""
        return not self.failed

    def ready(self) -> bool:
        """Started, not stopping, and every shard has a running reader."""
        return (
            bool(self._workers)
            and not self._stop.is_set()
            and all(w.is_alive() for w in self._workers)
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading; each worker finishes the batch in hand, its alerts, and saves its place.

        Alerts that still cannot be published after ``timeout`` (SNS down) are given up on;
        their batches stay after the saved place and are handled again by the next consumer.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0))
        if self._processor is not None:
            self._processor.close()
            for worker in self._workers:
                worker.join(5.0)
        logger.info("consumer stopped after %d decisions", self.stats.decisions)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from another thread) or every shard is done."""
        while not self._stop.is_set() and any(w.is_alive() for w in self._workers):
            self._stop.wait(0.5)
