"""SIGTERM mid-stream, as a Spot reclaim or a rollout sends it: ``fds consume`` finishes the batch
in hand, saves its place and exits; its successor resumes there, so nothing is lost or repeated.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.consumer.checkpoints import CheckpointStore, stream_identity
from app.consumer.leases import LeaseTable
from app.producer import StreamProducer
from components.workload import WorkloadArgs
from ml.simulator import simulate_transactions

REPO_ROOT = Path(__file__).resolve().parents[3]
#: What the cluster's Deployment gives a pod between SIGTERM and SIGKILL.
GRACE_SECONDS = WorkloadArgs.__dataclass_fields__["termination_grace_seconds"].default


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ConsumeProcess:
    def __init__(self, env) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "consume", "--no-decision-lines"],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "AWS_ENDPOINT_URL": env.endpoint_url,
                "FDS_METRICS_PORT": str(self.port),
                "FDS_POLL_INTERVAL_SECONDS": "0.01",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def decided(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0
        return int(
            sum(
                sample.value
                for family in text_string_to_metric_families(text)
                if family.name == "fds_decisions"
                for sample in family.samples
                if sample.name == "fds_decisions_total"
            )
        )

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=GRACE_SECONDS)


@pytest.mark.timeout(180)
def test_sigterm_mid_stream_loses_and_repeats_nothing(local_aws_env, poll) -> None:
    rows = [
        {"tx_id": f"g-{i}", **row}
        for i, row in enumerate(
            islice(simulate_transactions(seed=5, fraud_rate=0.02, retry_share=0.5), 900)
        )
    ]
    producer = StreamProducer(local_aws_env.clients.kinesis, local_aws_env.names.stream)
    sending = threading.Thread(target=producer.run, args=(rows,), kwargs={"rate": 300.0})

    first = ConsumeProcess(local_aws_env)
    sending.start()
    poll(lambda: first.decided() >= 200, timeout=60, what="the first consumer to decide 200")
    # Stopped while transactions still arrive: a batch is in hand or about to be
    assert first.terminate() == 0, first.process.stderr.read() if first.process.stderr else ""
    sending.join(timeout=60)

    # Then it saved each shard's place exactly after the last decision it logged there, and
    # gave its leases up for the next consumer
    names = local_aws_env.names
    shards = [
        s["ShardId"]
        for s in local_aws_env.clients.kinesis.list_shards(StreamName=names.stream)["Shards"]
    ]
    logged_by_first = local_aws_env.decision_log()
    identity = stream_identity(local_aws_env.clients.kinesis, names.stream)
    checkpoints = CheckpointStore(local_aws_env.clients, names.checkpoint_table, identity)
    for shard in shards:
        on_shard = [int(d["sequence_number"]) for d in logged_by_first if d["shard_id"] == shard]
        saved = checkpoints.load(shard)
        assert saved == (str(max(on_shard)) if on_shard else None), f"place of {shard}"
    leases = LeaseTable(local_aws_env.clients, names.checkpoint_table, identity).read(shards)
    assert {lease.owner for lease in leases.values()} == {""}, f"leases kept: {leases}"

    second = ConsumeProcess(local_aws_env)
    try:
        poll(
            lambda: len({d["tx_id"] for d in local_aws_env.decision_log()}) >= len(rows),
            timeout=90,
            what="every transaction to be decided",
        )
        decided_by_second = second.decided()
    finally:
        assert second.terminate() == 0

    logged = Counter(d["tx_id"] for d in local_aws_env.decision_log())
    assert set(logged) == {row["tx_id"] for row in rows}, "a transaction was lost"
    repeated = {tx_id: n for tx_id, n in logged.items() if n > 1}
    assert not repeated, f"decided more than once: {repeated}"
    # The successor decided exactly what the first had left, and each fraud was alerted once
    assert decided_by_second == len(rows) - len(logged_by_first), "the successor repeated some"
    frauds = sorted(d["tx_id"] for d in local_aws_env.decision_log() if d["verdict"] == "fraud")
    assert frauds, "the stream should hold frauds"
    assert sorted(a["tx_id"] for a in local_aws_env.inbox_alerts()) == frauds
