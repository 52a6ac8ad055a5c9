"""Tallies and latencies of the consumer (``app.consumer.stats``)."""

from __future__ import annotations

import pytest

from app.consumer.stats import ConsumerStats

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
