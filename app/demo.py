"""The main job on one machine: local AWS, generator and consumer together, then a summary."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console

from app.aws import AwsClients, make_clients
from app.consumer.consumer import Consumer
from app.consumer.stats import ConsumerStats
from app.errors import FdsError
from app.local.process import LocalAwsProcess
from app.resources import inbox_queue_url
from app.settings import ENDPOINT_ENV, Settings, load_settings
from ml.model import load_model

logger = logging.getLogger(__name__)

#: How long the consumer may take, after the last record was sent, to decide the rest.
_DRAIN_TIMEOUT_SECONDS = 60.0
_PROGRESS_EVERY_SECONDS = 5.0
_INBOX_PAUSE_SECONDS = 0.25


@dataclass(frozen=True)
class DemoOptions:
    data: Path | None = None
    rate: float = 100.0
    limit: int | None = 2000
    shards: int = 2
    seed: int | None = 7
    fraud_rate: float | None = 0.005
    retry_share: float = 0.5
    model_dir: Path | None = None


@dataclass
class Summary:
    """What a run did, in the shape ``--summary-json`` writes."""

    source: str
    model_version: str
    transactions: int
    decisions: int
    dead_lettered: int
    fraud_detected: int
    true_positives: int
    false_positives: int
    false_negatives: int
    recall: float | None
    precision: float | None
    blocked_refusals: int
    alerts_delivered: int
    throughput_tps: float
    offered_rate_tps: float | None
    latency_ms: dict[str, float | None]
    elapsed_seconds: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def run_demo(options: DemoOptions, console: Console) -> Summary:
    """Run the whole pipeline locally and return what happened."""
    settings = load_settings(environment="local", shard_count=options.shards)
    model = load_model(options.model_dir)
    source = str(options.data) if options.data else f"built-in simulator (seed {options.seed})"

    with LocalAwsProcess(options.shards) as local_aws:
        clients = make_clients(settings, local_aws.endpoint_url)
        consumer = Consumer(clients, settings, model)
        consumer.start()
        inbox = InboxReader(clients, settings)
        inbox.start()
        started = time.monotonic()
        try:
            with ProducerProcess(options, local_aws.endpoint_url) as producer:
                _watch(producer, consumer, options.limit, console)
        finally:
            # Stop reading before the local AWS goes away, also when the run failed.
            consumer.stop()
        alerts = inbox.finish()
        elapsed = time.monotonic() - started

    return _summarise(
        consumer.stats, producer.sent, alerts, source, model.version, options, elapsed
    )


class ProducerProcess:
    """``fds produce`` in a process of its own, as it would run beside the consumer pods.

    A separate process keeps the generator's work off the consumer's interpreter lock, so the
    latency the demo reports is the consumer's, not the cost of sharing a process.
    """

    def __init__(self, options: DemoOptions, endpoint_url: str) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="fds-producer-")
        self._report = Path(self._folder.name) / "report.json"
        command = [sys.executable, "-m", "app.cli", "produce", "--rate", str(options.rate)]
        command += ["--report-json", str(self._report)]
        if options.limit is not None:
            command += ["--limit", str(options.limit)]
        if options.data is not None:
            command += ["--data", str(options.data)]
        else:
            if options.fraud_rate is not None:
                command += ["--fraud-rate", str(options.fraud_rate)]
            command += ["--retry-share", str(options.retry_share)]
            if options.seed is not None:
                command += ["--seed", str(options.seed)]
        self._command = command
        self._environment = {
            **os.environ,
            ENDPOINT_ENV: endpoint_url,
            "FDS_ENVIRONMENT": "local",
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.sent = 0

    def __enter__(self) -> ProducerProcess:
        # Its output goes straight to the terminal: rows of a CSV it leaves out are reported
        # there, with their line numbers.
        self._process = subprocess.Popen(self._command, env=self._environment)
        return self

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def finish(self) -> int:
        """Wait for the producer; return how many records it sent.

        Raises:
            FdsError: it failed; its own messages are on the terminal above.
        """
        assert self._process is not None
        code = self._process.wait()
        if code != 0 or not self._report.is_file():
            raise FdsError(f"the generator failed (exit {code}); its messages are above")
        self.sent = int(json.loads(self._report.read_text())["sent"])
        return self.sent

    def __exit__(self, *_: object) -> None:
        if self.running():
            assert self._process is not None
            self._process.terminate()
            self._process.wait(timeout=10)
        self._folder.cleanup()


def _watch(
    producer: ProducerProcess, consumer: Consumer, limit: int | None, console: Console
) -> None:
    """Show progress until everything sent has been handled (or the consumer is stuck)."""
    next_report = time.monotonic() + _PROGRESS_EVERY_SECONDS
    drain_deadline: float | None = None
    while True:
        handled = consumer.stats.handled
        if drain_deadline is None and not producer.running():
            producer.finish()
            drain_deadline = time.monotonic() + _DRAIN_TIMEOUT_SECONDS
        if drain_deadline is not None:
            if handled >= producer.sent:
                return
            if time.monotonic() > drain_deadline:
                logger.warning("gave up waiting: %d of %d records handled", handled, producer.sent)
                return
        failure = consumer.failure()
        if failure is not None:
            raise FdsError(f"the consumer failed: {failure}; see the log above")
        if time.monotonic() >= next_report:
            of = f"/{limit}" if limit else ""
            console.print(
                f"[dim]… {handled}{of} handled, {consumer.stats.verdicts['fraud']} frauds[/dim]"
            )
            next_report += _PROGRESS_EVERY_SECONDS
        time.sleep(0.05)


class InboxReader(threading.Thread):
    """Reads the operators' inbox (the queue subscribed to the alert topic) as alerts arrive.

    Reading as they come, as an operator's tool would, keeps the queue short; the local
    server's SQS does work proportional to the queue's length on every message it receives.
    """

    def __init__(self, clients: AwsClients, settings: Settings) -> None:
        super().__init__(name="inbox", daemon=True)
        self._sqs = clients.sqs
        self._url = inbox_queue_url(clients, settings.names)
        self._stopping = threading.Event()
        self.tx_ids: set[str] = set()

    def run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            messages = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if stopping else 1
            ).get("Messages", [])
            for message in messages:
                self.tx_ids.add(json.loads(message["Body"])["tx_id"])
            if messages:
                self._sqs.delete_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
            elif stopping:
                return
            if len(messages) < 10 and not stopping:
                # An operator's inbox need not be read within milliseconds; reading it in
                # tenths of a second takes calls (and the local server's time) off the pipeline.
                self._stopping.wait(_INBOX_PAUSE_SECONDS)

    def finish(self) -> set[str]:
        """Read what is still queued, then stop; returns the transaction ids alerted."""
        self._stopping.set()
        self.join()
        return self.tx_ids


def _summarise(
    stats: ConsumerStats,
    sent: int,
    alerts: set[str],
    source: str,
    model_version: str,
    options: DemoOptions,
    elapsed: float,
) -> Summary:
    labelled = stats.labelled
    true_positives = labelled[("fraud", 1)]
    false_positives = labelled[("fraud", 0)]
    # A labelled fraud that was refused was stopped all the same; only a "normal" one got away.
    false_negatives = labelled[("normal", 1)]
    span = (stats.last_durable_at or 0) - (stats.first_sent_at or 0)
    return Summary(
        source=source,
        model_version=model_version,
        transactions=sent,
        decisions=stats.decisions,
        dead_lettered=stats.dead_lettered,
        fraud_detected=stats.verdicts["fraud"],
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
        recall=_ratio(true_positives, true_positives + false_negatives),
        precision=_ratio(true_positives, true_positives + false_positives),
        blocked_refusals=stats.verdicts["refused"],
        alerts_delivered=len(alerts),
        throughput_tps=round(stats.decisions / span, 1) if span > 0 else 0.0,
        offered_rate_tps=options.rate,
        latency_ms=stats.latency_percentiles(),
        elapsed_seconds=round(elapsed, 1),
    )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
