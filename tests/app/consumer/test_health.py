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


def test_two_consumers_keep_separate_counts() -> None:
    first, second = ConsumerStats(), ConsumerStats()
    first.record_batch([("normal", None, None)], dead_lettered=0, durable_at=1.0)
    assert first.metrics.decisions.labels(verdict="normal")._value.get() == 1
    assert second.metrics.decisions.labels(verdict="normal")._value.get() == 0


def test_a_taken_port_says_which_setting_to_change(served) -> None:
    endpoint, _, _ = served
    with pytest.raises(FdsError, match="FDS_METRICS_PORT"):
        HealthEndpoint(endpoint.port, ConsumerStats().metrics.registry, bool, bool, "127.0.0.1")
