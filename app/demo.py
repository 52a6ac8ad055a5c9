"""The main job on one machine: local AWS, generator and consumer together, then a summary."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from app.aws import AwsClients, make_clients
from app.consumer.consumer import Consumer
from app.consumer.stats import ConsumerStats
from app.local.process import LocalAwsProcess
from app.producer import ProduceReport, StreamProducer
from app.resources import resolve
from app.settings import Settings
from app.sources.csv_replay import replay_csv
from app.sources.synthetic import synthetic_transactions
from ml.model import load_model

logger = logging.getLogger(__name__)

#: How long the consumer may take, after the last record was sent, to decide the rest.
_DRAIN_TIMEOUT_SECONDS = 60.0
_PROGRESS_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class DemoOptions:
    data: Path | None = None
    rate: float = 100.0
    limit: int | None = 2000
    shards: int = 2
    seed: int | None = 7
    fraud_rate: float = 0.02
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
    settings = Settings(environment="local", shard_count=options.shards)
    model = load_model(options.model_dir)
    rows = _source(options)
    source = str(options.data) if options.data else f"built-in generator (seed {options.seed})"

    with LocalAwsProcess(options.shards) as local_aws:
        clients = make_clients(settings, local_aws.endpoint_url)
        consumer = Consumer(clients, settings, model)
        consumer.start()
        producer = StreamProducer(clients.kinesis, settings.names.stream)
        started = time.monotonic()
        failure: list[BaseException] = []

        def produce() -> None:
            try:
                producer.run(rows, rate=options.rate, limit=options.limit)
            except BaseException as error:
                failure.append(error)

        sender = threading.Thread(target=produce, name="producer", daemon=True)
        sender.start()
        _watch(sender, producer.report, consumer, options.limit, console)
        consumer.stop()
        if failure:
            raise failure[0]
        alerts = _delivered_alerts(clients, settings)
        elapsed = time.monotonic() - started

    return _summarise(
        consumer.stats, producer.report, alerts, source, model.version, options, elapsed
    )


def _source(options: DemoOptions) -> Iterator[dict[str, Any]]:
    if options.data is not None:
        return replay_csv(options.data)  # type: ignore[return-value]
    return synthetic_transactions(seed=options.seed, fraud_rate=options.fraud_rate)  # type: ignore[return-value]


def _watch(
    sender: threading.Thread,
    sent: ProduceReport,
    consumer: Consumer,
    limit: int | None,
    console: Console,
) -> None:
    """Show progress until everything sent has been handled (or the consumer is stuck)."""
    next_report = time.monotonic() + _PROGRESS_EVERY_SECONDS
    drain_deadline: float | None = None
    while True:
        handled = consumer.stats.handled
        if not sender.is_alive():
            if handled >= sent.sent:
                return
            drain_deadline = drain_deadline or time.monotonic() + _DRAIN_TIMEOUT_SECONDS
            if time.monotonic() > drain_deadline:
                logger.warning(
                    "gave up waiting: %d of %d records handled", handled, sent.sent
                )
                return
        if consumer.failed:
            logger.error("a shard worker failed; stopping the run")
            return
        if time.monotonic() >= next_report:
            of = f"/{limit}" if limit else ""
            console.print(
                f"[dim]… {sent.sent}{of} sent, {handled} handled, "
                f"{consumer.stats.verdicts['fraud']} frauds[/dim]"
            )
            next_report += _PROGRESS_EVERY_SECONDS
        time.sleep(0.05)


def _delivered_alerts(clients: AwsClients, settings: Settings) -> set[str]:
    """Transaction ids of the alerts that reached the queue subscribed to the alert topic."""
    inbox = resolve(clients, settings.names).alerts_inbox_url
    tx_ids: set[str] = set()
    empty_reads = 0
    while empty_reads < 2:
        messages = clients.sqs.receive_message(
            QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        empty_reads = 0 if messages else empty_reads + 1
        for message in messages:
            tx_ids.add(json.loads(message["Body"])["tx_id"])
            clients.sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
    return tx_ids


def _summarise(
    stats: ConsumerStats,
    sent: ProduceReport,
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
        transactions=sent.sent,
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
