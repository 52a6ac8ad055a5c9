"""Tallies and latencies of the consumer (``app.consumer.stats``)."""

from __future__ import annotations

import pytest

from app.consumer.stats import ConsumerStats, SampleWindow

DURABLE_AT = 1_700_000_000.0
WEEK_SECONDS = 7 * 24 * 3600


def observed_latencies(stats: ConsumerStats) -> tuple[float, float]:
    """Count and sum of the Prometheus decision-latency histogram."""
    registry = stats.metrics.registry
    count = registry.get_sample_value("fds_decision_latency_seconds_count")
    total = registry.get_sample_value("fds_decision_latency_seconds_sum")
    assert count is not None and total is not None, "the latency histogram is not registered"
    return count, total


@pytest.mark.parametrize(
    "sent_at",
    [0.0, 1e18, -1e18, DURABLE_AT + 5, DURABLE_AT - WEEK_SECONDS - 1, float("nan")],
    ids=["zero", "far-future", "far-past", "5s-ahead", "older-than-retention", "nan"],
)
def test_record_batch_an_impossible_sent_at_is_left_out_of_latencies(sent_at: float) -> None:
    # Given a batch with one plausible 40 ms decision and one whose sent_at cannot be right
    stats = ConsumerStats()

    # When it is recorded
    stats.record_batch(
        [("normal", 0, DURABLE_AT - 0.04), ("fraud", 1, sent_at)],
        dead_lettered=0,
        durable_at=DURABLE_AT,
    )

    # Then both decisions count, but only the plausible one is a latency sample
    assert stats.decisions == 2, f"every decision must be counted, got {stats.decisions}"
    assert stats.labelled[("fraud", 1)] == 1, "the odd record must still be tallied by label"
    assert list(stats.latencies_ms) == pytest.approx([40.0]), (
        f"sent_at={sent_at} must not give a latency sample: {list(stats.latencies_ms)}"
    )
    assert stats.first_sent_at == pytest.approx(DURABLE_AT - 0.04), (
        f"sent_at={sent_at} must not become first_sent_at, got {stats.first_sent_at}"
    )
    count, total = observed_latencies(stats)
    assert count == 1, f"the histogram observed {count} latencies, expected only the plausible one"
    assert total == pytest.approx(0.04), f"the histogram sum {total} includes the bad sample"


def test_record_batch_a_small_clock_skew_counts_as_zero_latency() -> None:
    # Given a record whose producer's clock ran half a second ahead of the consumer's
    stats = ConsumerStats()

    # When it is recorded
    stats.record_batch([("normal", 0, DURABLE_AT + 0.5)], dead_lettered=0, durable_at=DURABLE_AT)

    # Then its latency counts, clamped to 0
    assert list(stats.latencies_ms) == [0.0], f"expected one 0 ms sample: {stats.latencies_ms}"
    assert observed_latencies(stats) == (1, 0.0), "the histogram must observe 0 s once"


def test_record_batch_a_latency_within_retention_counts() -> None:
    # Given a record that waited six days on the stream (a consumer far behind)
    stats = ConsumerStats()
    six_days = 6 * 24 * 3600.0

    # When it is recorded
    stats.record_batch(
        [("normal", 0, DURABLE_AT - six_days)], dead_lettered=0, durable_at=DURABLE_AT
    )

    # Then its latency is kept as it is
    assert list(stats.latencies_ms) == pytest.approx([six_days * 1000]), (
        f"a six-day latency is possible on Kinesis and must be kept: {stats.latencies_ms}"
    )


SHARD = "shardId-000000000000"


def lag(stats: ConsumerStats, shard_id: str = SHARD) -> float | None:
    return stats.metrics.registry.get_sample_value(
        "fds_shard_millis_behind_latest", {"shard": shard_id}
    )


def test_record_read_a_read_that_gives_no_lag_keeps_the_last_one() -> None:
    # Given a shard last read 1.5 s behind
    stats = ConsumerStats()
    stats.record_read(SHARD, 10, 1_500)

    # When a read answers without MillisBehindLatest
    stats.record_read(SHARD, 2, None)

    # Then its records count, and the lag stays the last known one rather than 0
    records = stats.metrics.registry.get_sample_value("fds_records_total", {"shard": SHARD})
    assert records == 12, f"records counted: {records}"
    assert lag(stats) == 1_500, f"lag after a read without one: {lag(stats)}"


def test_record_read_an_empty_first_read_creates_the_series() -> None:
    # Given a consumer that has not read its shard yet
    stats = ConsumerStats()
    assert lag(stats) is None, "a lag before any read"

    # When the first read finds nothing, at the tip of the shard
    stats.record_read(SHARD, 0, 0)

    # Then the shard shows 0 records and 0 lag, so a dashboard sees it is read
    records = stats.metrics.registry.get_sample_value("fds_records_total", {"shard": SHARD})
    assert records == 0, f"records of an empty read: {records}"
    assert lag(stats) == 0, f"lag at the tip: {lag(stats)}"


def test_forget_shard_of_a_shard_never_read_is_harmless() -> None:
    # Given a consumer that read one shard
    stats = ConsumerStats()
    stats.record_read(SHARD, 1, 5)

    # When another shard, never read, is forgotten
    stats.forget_shard("shardId-000000000009")

    # Then the shard it reads keeps its lag
    assert lag(stats) == 5, f"lag of the shard still read: {lag(stats)}"


def test_record_retry_counts_per_operation_and_per_consumer() -> None:
    # Given two consumers in one process
    first, second = ConsumerStats(), ConsumerStats()

    # When the first retries a read twice and a publish once
    first.record_retry("get_records")
    first.record_retry("get_records")
    first.record_retry("alerts_publish")

    # Then each operation has its own count, and the second consumer counts none of them
    def retries(stats: ConsumerStats, operation: str) -> float | None:
        return stats.metrics.registry.get_sample_value(
            "fds_retries_total", {"operation": operation}
        )

    assert retries(first, "get_records") == 2, "read retries"
    assert retries(first, "alerts_publish") == 1, "publish retries"
    assert retries(second, "get_records") is None, "the other consumer's registry was counted"


def test_sample_window_keeps_the_latest_samples_in_order_within_its_limit() -> None:
    # Given a window of two blocks of four samples
    window = SampleWindow(limit=8, block=4)

    # When eleven samples go in
    for value in range(11):
        window.append(float(value))

    # Then the oldest whole block was dropped, and what is kept is in order
    assert len(window) == 7
    assert list(window) == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert window.values().dtype.itemsize == 8, "samples must be packed floats"
