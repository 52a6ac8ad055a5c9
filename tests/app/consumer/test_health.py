"""The consumer's health and metrics endpoint: probes, Prometheus counts, port errors."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.consumer.health import HealthEndpoint
from app.consumer.stats import ConsumerStats
from app.errors import FdsError


class Switch:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self) -> bool:
        return self.on


@pytest.fixture
def stats() -> ConsumerStats:
    return ConsumerStats()


@pytest.fixture
def served(stats) -> Iterator[tuple[HealthEndpoint, Switch, Switch]]:
    alive, ready = Switch(True), Switch(False)
    endpoint = HealthEndpoint(0, stats.metrics.registry, alive, ready, host="127.0.0.1")
    yield endpoint, alive, ready
    endpoint.stop()


def get(endpoint: HealthEndpoint, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_probes_follow_the_consumer_state(served) -> None:
    endpoint, alive, ready = served
    assert get(endpoint, "/healthz")[0] == 200
    assert get(endpoint, "/readyz")[0] == 503
    ready.on = True
    assert get(endpoint, "/readyz")[0] == 200
    alive.on = False
    assert get(endpoint, "/healthz")[0] == 503
    status, body = get(endpoint, "/nowhere")
    assert status == 404 and "/metrics" in body


def test_metrics_count_what_the_batches_recorded(served, stats) -> None:
    endpoint, _, _ = served
    stats.record_batch(
        [("normal", 0, 100.0), ("fraud", 1, 100.0), ("normal", None, None)],
        dead_lettered=2,
        durable_at=100.04,
        received_at=100.01,
    )
    stats.record_failure()

    status, text = get(endpoint, "/metrics")

    assert status == 200
    found = samples(text)
    assert found[("fds_decisions_total", (("verdict", "normal"),))] == 2
    assert found[("fds_decisions_total", (("verdict", "fraud"),))] == 1
    assert found[("fds_dead_letters_total", ())] == 2
    assert found[("fds_batches_total", ())] == 1
    assert found[("fds_batch_failures_total", ())] == 1
    # Two decisions carried the generator's clock; both took 40 ms, inside the 50 ms bucket.
    assert found[("fds_decision_latency_seconds_count", ())] == 2
    assert found[("fds_decision_latency_seconds_bucket", (("le", "0.03"),))] == 0
    assert found[("fds_decision_latency_seconds_bucket", (("le", "0.05"),))] == 2
    assert found[("fds_batch_processing_seconds_count", ())] == 1


def test_metrics_show_records_and_lag_per_shard_and_retries_per_operation(served, stats) -> None:
    # Given two shards read twice each, the second behind the tip, and three failed calls
    endpoint, _, _ = served
    stats.record_read("shardId-000000000000", 25, 4_000)
    stats.record_read("shardId-000000000000", 5, 0)
    stats.record_read("shardId-000000000001", 0, 90_000)
    stats.record_read("shardId-000000000001", 100, 61_500)
    stats.record_retry("get_records")
    stats.record_retry("get_records")
    stats.record_retry("alerts_publish")

    # When Prometheus scrapes
    status, text = get(endpoint, "/metrics")

    # Then records add up per shard, the lag is each shard's last, and retries are by operation
    assert status == 200
    found = samples(text)
    first, second = (("shard", "shardId-000000000000"),), (("shard", "shardId-000000000001"),)
    assert found[("fds_records_total", first)] == 30, "records of shard 0"
    assert found[("fds_records_total", second)] == 100, "records of shard 1"
    assert found[("fds_shard_millis_behind_latest", first)] == 0, "shard 0 caught up"
    assert found[("fds_shard_millis_behind_latest", second)] == 61_500, "shard 1's last lag"
    assert found[("fds_retries_total", (("operation", "get_records"),))] == 2
    assert found[("fds_retries_total", (("operation", "alerts_publish"),))] == 1


def test_metrics_drop_the_lag_of_a_shard_no_longer_read(served, stats) -> None:
    # Given two shards read, one of which then went to another consumer
    endpoint, _, _ = served
    stats.record_read("shardId-000000000000", 3, 10)
    stats.record_read("shardId-000000000001", 4, 20)
    stats.forget_shard("shardId-000000000001")

    # When Prometheus scrapes
    found = samples(get(endpoint, "/metrics")[1])

    # Then only the shard still read has a lag, and both keep their record counts
    lags = {labels for name, labels in found if name == "fds_shard_millis_behind_latest"}
    assert lags == {(("shard", "shardId-000000000000"),)}, f"lag series: {lags}"
    assert found[("fds_records_total", (("shard", "shardId-000000000001"),))] == 4, (
        "a shard's record count must survive its lease moving away"
    )


def test_two_consumers_keep_separate_counts() -> None:
    first, second = ConsumerStats(), ConsumerStats()
    first.record_batch([("normal", None, None)], dead_lettered=0, durable_at=1.0)
    assert first.metrics.decisions.labels(verdict="normal")._value.get() == 1
    assert second.metrics.decisions.labels(verdict="normal")._value.get() == 0


def test_a_taken_port_says_which_setting_to_change(served) -> None:
    endpoint, _, _ = served
    with pytest.raises(FdsError, match="FDS_METRICS_PORT"):
        HealthEndpoint(endpoint.port, ConsumerStats().metrics.registry, bool, bool, "127.0.0.1")
