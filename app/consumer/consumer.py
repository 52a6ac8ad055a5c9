"""The consumer: one worker per shard, sharing a model, the effects and the statistics."""

from __future__ import annotations

import logging
import threading
import time

from botocore.exceptions import ClientError

from app.aws import MISSING_RESOURCE_CODES, AwsClients
from app.consumer.blocklist import BlockList
from app.consumer.checkpoints import CheckpointStore, stream_identity
from app.consumer.effects import Effects
from app.consumer.fan_out import FanOutReads, resolve_consumer_arn
from app.consumer.leases import LeaseCoordinator, LeaseTable, default_owner_id
from app.consumer.metrics import ConsumerMetrics
from app.consumer.processor import BatchProcessor
from app.consumer.reads import PollingReads, ShardReads
from app.consumer.shard_reader import ShardWorker
from app.consumer.stats import ConsumerStats
from app.errors import AwsSetupError, FdsError
from app.pauses import freeze_long_lived_objects
from app.resources import resolve
from app.settings import Settings
from ml.contributions import prepare as prepare_explanations
from ml.model import FraudModel

logger = logging.getLogger(__name__)


class Consumer:
    """Reads every shard of the stream and acts on each transaction."""

    def __init__(self, clients: AwsClients, settings: Settings, model: FraudModel) -> None:
        self._clients = clients
        self._settings = settings
        self._model = model
        self.stats = ConsumerStats(metrics=ConsumerMetrics(model.version))
        self._stop = threading.Event()
        self._workers: list[ShardWorker] = []
        self._leases: LeaseCoordinator | None = None
        self._fan_out_arn: str | None = None
        self._processor: BatchProcessor | None = None

    def start(self) -> None:
        """Check every resource, load what the readers share, and start reading."""
        names = self._settings.names
        effects, checkpoints, identity = self._open_resources()
        if self._settings.read_mode == "fan-out":
            self._fan_out_arn = resolve_consumer_arn(
                self._clients.kinesis, names.stream, self._settings.stream_consumer_name
            )
        self._model.warm_up()
        # The model's SHAP table takes a moment to build (0.15 s for the shipped model, more for
        # larger ones): now, not at the first fraud.
        prepare_explanations(self._model)
        blocklist = BlockList(effects, self._settings.blocklist_refresh_seconds)
        processor = BatchProcessor(self._model, effects, self.stats, blocklist=blocklist)
        self._processor = processor

        # Everything loaded so far (models, service definitions) lives as long as the consumer;
        # taking it out of garbage collection keeps full collections from pausing decisions.
        freeze_long_lived_objects()
        if self._settings.shard_ids:
            self._start_pinned(processor, checkpoints)
            what = f"{len(self._workers)} pinned shards"
        else:
            leases = self._start_leased(processor, checkpoints, identity)
            what = f"shards by lease as {leases.owner}, holding {leases.held}"
        logger.info("consumer started on %s: %s, model %s", names.stream, what, self._model.version)

    def _open_resources(self) -> tuple[Effects, CheckpointStore, str]:
        """The effects and the checkpoints, each resource touched once so a missing one is
        said now, by name; and the stream's identity (name and creation time)."""
        names = self._settings.names
        resources = resolve(self._clients, names)
        effects = Effects(self._clients, resources, on_retry=self.stats.record_retry)
        try:
            identity = stream_identity(self._clients.kinesis, names.stream)
            checkpoints = CheckpointStore(self._clients, names.checkpoint_table, identity)
            effects.warm_up()
            checkpoints.load("warm-up")
        except ClientError as error:
            if error.response["Error"]["Code"] not in MISSING_RESOURCE_CODES:
                raise
            raise AwsSetupError(
                f"a resource the consumer needs is missing ({error}); the names in use are "
                f"{names.model_dump()}: start `fds local serve`, deploy the stack, or correct "
                "the FDS_* name settings"
            ) from error
        return effects, checkpoints, identity

    def _start_leased(
        self, processor: BatchProcessor, checkpoints: CheckpointStore, identity: str
    ) -> LeaseCoordinator:
        """Share the stream's shards with the other consumers through leases."""
        names = self._settings.names
        leases = LeaseCoordinator(
            self._clients,
            LeaseTable(self._clients, names.checkpoint_table, identity),
            names.stream,
            lambda shard_id, stop: self._new_worker(shard_id, stop, processor, checkpoints),
            owner=self._settings.consumer_id or default_owner_id(),
            lease_seconds=self._settings.lease_seconds,
        )
        # The first round runs here, so a consumer that starts reads at once and a missing
        # table or stream is an error of start rather than of a thread.
        leases.balance()
        leases.start()
        self._leases = leases
        return leases

    def _new_worker(
        self,
        shard_id: str,
        stop: threading.Event,
        processor: BatchProcessor,
        checkpoints: CheckpointStore,
        wait_for: threading.Event | None = None,
    ) -> ShardWorker:
        reads: ShardReads
        if self._fan_out_arn is not None:
            reads = FanOutReads(
                self._clients.kinesis, self._fan_out_arn, shard_id, stop, self.stats.record_retry
            )
        else:
            reads = PollingReads(
                self._clients.kinesis,
                self._settings.names.stream,
                shard_id,
                stop,
                poll_interval_seconds=self._settings.poll_interval_seconds,
                max_records_per_read=self._settings.max_records_per_read,
                on_retry=self.stats.record_retry,
            )
        return ShardWorker(
            shard_id,
            checkpoints,
            processor,
            stop,
            reads=reads,
            stats=self.stats,
            wait_for=wait_for,
        )

    def _start_pinned(self, processor: BatchProcessor, checkpoints: CheckpointStore) -> None:
        """Read exactly the shards named in the settings, with no leases (benchmarks)."""
        stream = self._settings.names.stream
        logger.warning(
            "reading shards %s without leases (FDS_SHARD_IDS): a consumer using leases on the "
            "same stream would read them too",
            ", ".join(self._settings.shard_ids),
        )
        shards = self._clients.kinesis.list_shards(StreamName=stream)["Shards"]
        known = {shard["ShardId"] for shard in shards}
        unknown = sorted(set(self._settings.shard_ids) - known)
        if unknown:
            raise AwsSetupError(
                f"FDS_SHARD_IDS names shards that stream {stream} does not have: "
                f"{', '.join(unknown)}; its shards are {', '.join(sorted(known))}"
            )
        by_id: dict[str, ShardWorker] = {}
        # list_shards returns parents before children, so a parent's worker exists first.
        for shard in shards:
            if shard["ShardId"] not in self._settings.shard_ids:
                continue
            parent = by_id.get(shard.get("ParentShardId", ""))
            by_id[shard["ShardId"]] = self._new_worker(
                shard["ShardId"],
                self._stop,
                processor,
                checkpoints,
                wait_for=parent.finished if parent else None,
            )
        self._workers = list(by_id.values())
        for worker in self._workers:
            worker.start()

    @property
    def model_version(self) -> str:
        return self._model.version

    @property
    def readers(self) -> list[ShardWorker]:
        """The shard readers running now (with leases, those of the shards held)."""
        if self._leases is not None:
            return [r for r in self._leases.readers if isinstance(r, ShardWorker)]
        return list(self._workers)

    @property
    def failed(self) -> list[ShardWorker]:
        """Readers that died of an error."""
        gone = (
            [r for r in self._leases.failed if isinstance(r, ShardWorker)] if self._leases else []
        )
        return gone + [w for w in self.readers if w.error is not None]

    def failure(self) -> str | None:
        """Why the consumer is not healthy, for its operator; None while it is."""
        if self._leases is not None and self._leases.error is not None:
            error = self._leases.error
            return str(error) if isinstance(error, FdsError) else f"keeping the leases: {error!r}"
        if self.failed:
            shards = ", ".join(worker.shard_id for worker in self.failed)
            return f"the reader of shard(s) {shards} stopped on an error"
        return None

    def healthy(self) -> bool:
        """No shard reader and no lease coordinator has died of an error."""
        leases_ok = self._leases is None or self._leases.error is None
        return leases_ok and not self.failed

    def ready(self) -> bool:
        """Started, not stopping, and every shard it reads has a running reader.

        With leases, a consumer holding no shard (more consumers than shards) is ready too: it
        stands by to take a shard over.
        """
        if self._stop.is_set():
            return False
        if self._leases is not None:
            return self._leases.is_alive() and all(r.is_alive() for r in self.readers)
        return bool(self._workers) and all(w.is_alive() for w in self._workers)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading; each worker finishes the batch in hand, its alerts, and saves its place.

        Alerts that still cannot be published after ``timeout`` (SNS down) are given up on;
        their batches stay after the saved place and are handled again by the next consumer.
        With leases, each is released once its reader is done, so others take over at once.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        deadline = time.monotonic() + timeout
        if self._leases is not None:
            self._leases.stop(timeout)
            self._leases.join(timeout)
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0))
        if self._processor is not None:
            self._processor.close()
            for worker in [*self._workers, *self.readers]:
                worker.join(5.0)
        logger.info("consumer stopped after %d decisions", self.stats.decisions)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from another thread) or it has nothing left to read.

        With leases that is never, short of an error: a standby consumer waits for shards.
        """
        while not self._stop.is_set() and self._reading():
            self._stop.wait(0.5)

    def _reading(self) -> bool:
        if self._leases is not None:
            return self._leases.is_alive()
        return any(w.is_alive() for w in self._workers)
