"""Counters and latencies the consumer keeps while it runs, for summaries and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from app.consumer.metrics import ConsumerMetrics

#: Latency samples kept; older ones are dropped so a consumer that runs for days stays flat.
_MAX_SAMPLES: Final = 1_000_000
#: Samples are kept in blocks of this many 8-byte floats (512 KiB), not as Python floats in a
#: deque (about 40 bytes each): a million samples take 8 MB instead of 40.
_BLOCK: Final = 65_536


class SampleWindow:
    """The latest ``limit`` float samples, oldest first, in fixed blocks of packed floats."""

    def __init__(self, limit: int = _MAX_SAMPLES, block: int = _BLOCK) -> None:
        self._block = block
        self._max_blocks = max(limit // block, 1)
        self._full: deque[np.ndarray] = deque()
        self._current = np.empty(block)
        self._used = 0

    def append(self, value: float) -> None:
        self._current[self._used] = value
        self._used += 1
        if self._used == self._block:
            self._full.append(self._current)
            # The block being filled counts too: never more than ``limit`` samples in all.
            if len(self._full) >= self._max_blocks:
                self._full.popleft()
            self._current = np.empty(self._block)
            self._used = 0

    def values(self) -> np.ndarray:
        return np.concatenate([*self._full, self._current[: self._used]])

    def __len__(self) -> int:
        return len(self._full) * self._block + self._used

    def __iter__(self) -> Iterator[float]:
        return iter(self.values().tolist())


# ``sent_at`` comes from the record, so from whoever put it on the stream: a clock far off, or
# a malformed value (0, 1e18), would ruin every latency figure and the throughput span. So a
# latency counts only from a little below zero (the producer's clock may run ahead of the
# consumer's; such a latency is clamped to 0) up to 7 days, the longest a record can stay on a
# Kinesis stream: no real record can have waited longer. Outside that, sent_at cannot be right.

#: How far a latency may fall below zero and still count (as 0): clock skew.
_MAX_CLOCK_SKEW_SECONDS: Final = 1.0
#: The longest a latency can be: Kinesis's longest retention, 7 days.
_MAX_LATENCY_SECONDS: Final = 7 * 24 * 3600.0


def plausible_latency(sent_at: float | None, durable_at: float) -> float | None:
    """Seconds from ``sent_at`` to ``durable_at``, or None when ``sent_at`` cannot be right.

    A latency a little below zero (up to the allowed clock skew) is clamped to 0.
    """
    if sent_at is None:
        return None
    latency = durable_at - sent_at
    if not -_MAX_CLOCK_SKEW_SECONDS <= latency <= _MAX_LATENCY_SECONDS:
        return None
    return max(latency, 0.0)


@dataclass
class ConsumerStats:
    """Thread-safe tallies shared by the shard workers."""

    verdicts: Counter[str] = field(default_factory=Counter)
    labelled: Counter[tuple[str, int]] = field(default_factory=Counter)
    dead_lettered: int = 0
    batches: int = 0
    first_sent_at: float | None = None
    last_durable_at: float | None = None
    latencies_ms: SampleWindow = field(default_factory=SampleWindow)
    batch_ms: SampleWindow = field(default_factory=SampleWindow)
    metrics: ConsumerMetrics = field(default_factory=ConsumerMetrics, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_batch(
        self,
        verdicts: list[tuple[str, int | None, float | None]],
        *,
        dead_lettered: int,
        durable_at: float,
        received_at: float | None = None,
    ) -> None:
        """Add one processed batch: (verdict, label, sent_at) per decision.

        A decision whose ``sent_at`` is missing or implausible (see :func:`plausible_latency`)
        is counted, but left out of the latencies and of ``first_sent_at``.
        """
        latencies = [plausible_latency(sent_at, durable_at) for _, _, sent_at in verdicts]
        metrics = self.metrics
        metrics.batches.inc()
        if dead_lettered:
            metrics.dead_letters.inc(dead_lettered)
        if received_at is not None:
            metrics.batch_processing.observe(durable_at - received_at)
        for (verdict, _, _), latency in zip(verdicts, latencies, strict=True):
            metrics.decisions.labels(verdict=verdict).inc()
            if latency is not None:
                metrics.decision_latency.observe(latency)
        with self._lock:
            if received_at is not None:
                self.batch_ms.append((durable_at - received_at) * 1000)
            self.batches += 1
            self.dead_lettered += dead_lettered
            for (verdict, label, sent_at), latency in zip(verdicts, latencies, strict=True):
                self.verdicts[verdict] += 1
                if label is not None:
                    self.labelled[(verdict, label)] += 1
                if sent_at is not None and latency is not None:
                    self.latencies_ms.append(latency * 1000)
                    if self.first_sent_at is None or sent_at < self.first_sent_at:
                        self.first_sent_at = sent_at
            self.last_durable_at = durable_at

    def record_failure(self) -> None:
        """Count a batch attempt that failed and will be retried."""
        self.metrics.batch_failures.inc()

    def record_read(self, shard_id: str, records: int, millis_behind: int | None) -> None:
        """Count one GetRecords answer of a shard: its records, and how far behind the tip of
        the shard it was (``MillisBehindLatest``; None when the answer did not say, which
        leaves the last figure standing).

        An empty read counts too: it creates the shard's series, at 0 records, and still says
        how far behind the shard is (Kinesis may answer empty while a shard is behind).
        """
        metrics = self.metrics
        metrics.records.labels(shard=shard_id).inc(records)
        if millis_behind is not None:
            metrics.millis_behind_latest.labels(shard=shard_id).set(millis_behind)

    def forget_shard(self, shard_id: str) -> None:
        """Drop the lag of a shard this consumer no longer reads (its lease went to another
        consumer, or it was read to its end): a figure that stops moving would look like a
        stalled shard, and would be counted twice next to its new reader's."""
        # The records counter stays: a counter that vanishes and comes back reads as a reset.
        # Removing a shard never recorded does nothing.
        self.metrics.millis_behind_latest.remove(shard_id)

    def record_retry(self, operation: str) -> None:
        """Count a failed AWS call that will be retried, by what it was doing (e.g.
        ``get_records``, ``alerts_publish``)."""
        self.metrics.retries.labels(operation=operation).inc()

    @property
    def decisions(self) -> int:
        with self._lock:
            return sum(self.verdicts.values())

    @property
    def handled(self) -> int:
        """Records that reached an end: decided or set aside."""
        with self._lock:
            return sum(self.verdicts.values()) + self.dead_lettered

    def latency_percentiles(self) -> dict[str, float | None]:
        with self._lock:
            samples = self.latencies_ms.values()
        return percentiles(samples)

    def to_json_dict(self) -> dict[str, object]:
        """Tallies and raw samples, for a benchmark that merges several consumers."""
        with self._lock:
            return {
                "verdicts": dict(self.verdicts),
                "dead_lettered": self.dead_lettered,
                "batches": self.batches,
                "first_sent_at": self.first_sent_at,
                "last_durable_at": self.last_durable_at,
                "latencies_ms": np.round(self.latencies_ms.values(), 3).tolist(),
                "batch_ms": np.round(self.batch_ms.values(), 3).tolist(),
            }


def percentiles(samples: np.ndarray) -> dict[str, float | None]:
    """p50, p95, p99 and max of millisecond samples, rounded; None for no samples."""
    if samples.size == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "max": round(float(samples.max()), 2),
    }
