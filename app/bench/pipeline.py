"""The whole pipeline at a constant arrival rate: local AWS, generator and consumers, each a
process of its own, measured from outside.

Latency is the consumers' own: from the generator's clock when it put a record to the moment
that record's decision was durable (logged, and its sender blocked when fraud). Every process
runs on the same machine, so the figures include their competition for its cores.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from app.aws import make_clients
from app.bench.usage import ProcessUsage, UsageSampler
from app.consumer.stats import percentiles
from app.errors import FdsError
from app.local.process import LocalAwsProcess
from app.settings import ENDPOINT_ENV, load_settings

logger = logging.getLogger(__name__)

_READY_TIMEOUT_SECONDS = 90.0
_DRAIN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PipelineOptions:
    rate: float = 1000.0
    seconds: float = 60.0
    shards: int = 2
    consumers: int = 1
    data: Path | None = None
    seed: int = 7
    fraud_rate: float = 0.0013


@dataclass
class PipelineResult:
    """What one run measured; ``--json`` writes it as it is."""

    offered_rate_tps: float
    seconds: float
    shards: int
    consumers: int
    sent: int
    decided: int
    dead_lettered: int
    throughput_tps: float
    latency_ms: dict[str, float | None]
    #: p99 over the first and the second half of the decisions: a lag that grows shows here.
    latency_p99_first_half_ms: float | None
    latency_p99_second_half_ms: float | None
    batch_processing_ms: dict[str, float | None]
    processes: list[ProcessUsage] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """Every transaction decided, at (nearly) the offered rate."""
        return self.decided + self.dead_lettered >= self.sent and (
            self.throughput_tps >= 0.95 * self.offered_rate_tps
        )


def run_pipeline(options: PipelineOptions) -> PipelineResult:
    """Run one constant-rate benchmark and return its figures.

    Raises:
        FdsError: a process failed to start or the consumers did not keep up at all.
    """
    with (
        tempfile.TemporaryDirectory(prefix="fds-bench-") as folder,
        LocalAwsProcess(options.shards) as local_aws,
    ):
        environment = {
            **os.environ,
            ENDPOINT_ENV: local_aws.endpoint_url,
            "FDS_ENVIRONMENT": "local",
        }
        shard_ids = _shard_ids(local_aws.endpoint_url)
        consumers = [
            _ConsumerProcess(i, shard_ids[i :: options.consumers], Path(folder), environment)
            for i in range(min(options.consumers, len(shard_ids)))
        ]
        try:
            for consumer in consumers:
                consumer.wait_ready()
            sampler = UsageSampler(
                {"local AWS": local_aws.pid} | {c.name: c.pid for c in consumers}
            )
            sampler.start()
            sent = _produce(options, environment, Path(folder), sampler)
            _drain(consumers, sent)
            usage = sampler.finish()
        finally:
            for consumer in consumers:
                consumer.stop()
        stats = [consumer.read_stats() for consumer in consumers]
    return _summarise(options, sent, stats, usage)


def _shard_ids(endpoint_url: str) -> list[str]:
    clients = make_clients(load_settings(environment="local"), endpoint_url)
    stream = load_settings(environment="local").names.stream
    return [s["ShardId"] for s in clients.kinesis.list_shards(StreamName=stream)["Shards"]]


class _ConsumerProcess:
    """``fds consume`` on some shards, with its health endpoint on a free port."""

    def __init__(
        self, index: int, shard_ids: list[str], folder: Path, environment: dict[str, str]
    ) -> None:
        self.name = f"consumer {index + 1}"
        self.port = _free_port()
        self.stats_path = folder / f"consumer-{index + 1}.json"
        self._log = (folder / f"consumer-{index + 1}.log").open("w")
        command = [sys.executable, "-m", "app.cli", "consume", "--no-decision-lines"]
        command += ["--stats-json", str(self.stats_path)]
        self._process = subprocess.Popen(
            command,
            env={
                **environment,
                "FDS_METRICS_PORT": str(self.port),
                "FDS_SHARD_IDS": json.dumps(shard_ids),
            },
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self.pid = self._process.pid

    def _get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:
            return 0, ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while self._get("/readyz")[0] != 200:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise FdsError(f"{self.name} did not start; its log:\n{self._tail()}")
            time.sleep(0.2)

    def handled(self) -> int:
        """Decisions plus dead letters so far, from its metrics."""
        status, text = self._get("/metrics")
        if status != 200:
            return 0
        return int(
            sum(
                sample.value
                for family in text_string_to_metric_families(text)
                if family.name in ("fds_decisions", "fds_dead_letters")
                for sample in family.samples
                if sample.name.endswith("_total")
            )
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._log.close()

    def read_stats(self) -> dict[str, Any]:
        if not self.stats_path.is_file():
            raise FdsError(f"{self.name} left no statistics; its log:\n{self._tail()}")
        return dict(json.loads(self.stats_path.read_text()))

    def _tail(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text()[-2000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _produce(
    options: PipelineOptions, environment: dict[str, str], folder: Path, sampler: UsageSampler
) -> int:
    report = folder / "producer.json"
    limit = max(int(options.rate * options.seconds), 1)
    command = [sys.executable, "-m", "app.cli", "produce", "--rate", str(options.rate)]
    command += ["--limit", str(limit), "--report-json", str(report)]
    if options.data is not None:
        command += ["--data", str(options.data)]
    else:
        command += ["--seed", str(options.seed), "--fraud-rate", str(options.fraud_rate)]
    with (folder / "producer.log").open("w") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
        sampler.add("generator", process.pid)
        code = process.wait()
    if code != 0 or not report.is_file():
        tail = (folder / "producer.log").read_text()[-2000:]
        raise FdsError(f"the generator failed (exit {code}):\n{tail}")
    return int(json.loads(report.read_text())["sent"])


def _drain(consumers: list[_ConsumerProcess], sent: int) -> None:
    deadline = time.monotonic() + _DRAIN_TIMEOUT_SECONDS
    while sum(c.handled() for c in consumers) < sent:
        if time.monotonic() > deadline:
            logger.warning("gave up waiting for the consumers to catch up")
            return
        time.sleep(0.1)


def _summarise(
    options: PipelineOptions,
    sent: int,
    stats: list[dict[str, Any]],
    usage: list[ProcessUsage],
) -> PipelineResult:
    latencies = np.concatenate([np.asarray(s["latencies_ms"], dtype=float) for s in stats])
    batches = np.concatenate([np.asarray(s["batch_ms"], dtype=float) for s in stats])
    decided = sum(sum(s["verdicts"].values()) for s in stats)
    dead = sum(int(s["dead_lettered"]) for s in stats)
    spans = [
        float(s["last_durable_at"]) - float(s["first_sent_at"])
        for s in stats
        if s.get("first_sent_at") and s.get("last_durable_at")
    ]
    span = max(spans, default=0.0)
    # Each consumer's samples are in the order it decided them; halves are taken per consumer.
    halves = [np.array_split(np.asarray(s["latencies_ms"], dtype=float), 2) for s in stats]
    first_half = np.concatenate([h[0] for h in halves])
    second_half = np.concatenate([h[1] for h in halves])
    return PipelineResult(
        offered_rate_tps=options.rate,
        seconds=options.seconds,
        shards=options.shards,
        consumers=len(stats),
        sent=sent,
        decided=decided,
        dead_lettered=dead,
        throughput_tps=round(decided / span, 1) if span else 0.0,
        latency_ms=percentiles(latencies),
        latency_p99_first_half_ms=percentiles(first_half)["p99"],
        latency_p99_second_half_ms=percentiles(second_half)["p99"],
        batch_processing_ms=percentiles(batches),
        processes=usage,
    )
