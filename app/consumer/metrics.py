"""The consumer's Prometheus metrics, in a registry of its own.

Each consumer gets its own registry rather than the process-wide default one, so two consumers
in one process (the tests, a benchmark) never count into each other's series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Decision latency buckets: the target is tens of milliseconds locally and 0.1 s on AWS with
# enhanced fan-out; the upper buckets show a consumer falling behind.
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10)


class ConsumerMetrics:
    """Counters and histograms one consumer exports on ``/metrics``."""

    def __init__(self, model_version: str = "") -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "fds_decisions",
            "Transactions decided, by verdict (normal, fraud, refused).",
            ["verdict"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "fds_dead_letters",
            "Records set aside in the dead-letter queue as invalid.",
            registry=self.registry,
        )
        self.batches = Counter(
            "fds_batches", "Batches whose effects became durable.", registry=self.registry
        )
        self.batch_failures = Counter(
            "fds_batch_failures",
            "Attempts at a batch that failed on an AWS error and will be retried.",
            registry=self.registry,
        )
        self.records = Counter(
            "fds_records",
            "Records read from the stream (GetRecords), by shard.",
            ["shard"],
            registry=self.registry,
        )
        self.retries = Counter(
            "fds_retries",
            "Failed AWS calls that are being retried, by operation.",
            ["operation"],
            registry=self.registry,
        )
        # A gauge per shard rather than one for the consumer: one hot or stuck shard is what
        # to see, and a maximum across shards would hide which.
        self.millis_behind_latest = Gauge(
            "fds_shard_millis_behind_latest",
            "How far behind the tip of its shard the last read was, in milliseconds "
            "(GetRecords' MillisBehindLatest); 0 means caught up.",
            ["shard"],
            registry=self.registry,
        )
        self.decision_latency = Histogram(
            "fds_decision_latency_seconds",
            "From the generator's put to the durable decision, per transaction.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_processing = Histogram(
            "fds_batch_processing_seconds",
            "From a batch's arrival at the consumer to its effects being durable.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "fds_model_info",
            "The model in use (always 1; the version is a label).",
            ["version"],
            registry=self.registry,
        )
        if model_version:
            self.model_info.labels(version=model_version).set(1)
