"""Audit exports: every logged decision, and every alert that reached the operators' queue.

Both read what the pipeline wrote (the decisions bucket, the inbox queue) through the same
clients as everything else, so they work on the embedded AWS and on a deployed stack alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from app.aws import AwsClients
from app.consumer.decisions import in_words
from app.consumer.effects import DECISIONS_PREFIX
from app.resources import inbox_queue_url
from app.settings import ResourceNames

logger = logging.getLogger(__name__)

#: How long an exported alert stays hidden from other readers of the queue before it shows again.
_EXPORT_VISIBILITY_SECONDS = 60
#: An empty receive that waited this long means the queue has nothing more to show.
_EMPTY_WAIT_SECONDS = 1


@dataclass
class ExportReport:
    written: int = 0
    #: Entries seen again for a transaction already written (a batch processed twice).
    repeated: int = 0


def decision_reason(decision: dict[str, Any]) -> str:
    """Why the decision was taken, in words, from the logged fields."""
    verdict = decision.get("verdict")
    if verdict == "refused":
        return f"account {decision.get('account')} was already on the block list"
    score, threshold = decision.get("score"), decision.get("threshold")
    if score is None or threshold is None:
        return "no score logged"
    relation = "at or above" if verdict == "fraud" else "below"
    reason = f"fraud score {score:.4f} is {relation} the model's threshold {threshold:.4f}"
    # Logged before frauds carried their reasons, a decision has none, and says just the score.
    reasons = decision.get("reasons") or []
    words = in_words([str(r["words"]) for r in reasons if isinstance(r, dict) and r.get("words")])
    return f"{reason}, mostly because {words}" if words else reason


def export_decisions(clients: AwsClients, names: ResourceNames, out: TextIO) -> ExportReport:
    """Write every logged decision as one JSON line, once per transaction, in log order."""
    report = ExportReport()
    seen: set[str] = set()
    for decision in _logged_decisions(clients, names.decisions_bucket):
        tx_id = str(decision.get("tx_id"))
        if tx_id in seen:
            report.repeated += 1
            continue
        seen.add(tx_id)
        decided_at = decision.get("decided_at")
        entry = {
            **decision,
            "reason": decision_reason(decision),
            "decided_at_utc": utc(decided_at) if isinstance(decided_at, int | float) else None,
        }
        out.write(json.dumps(entry) + "\n")
        report.written += 1
    return report


def _logged_decisions(clients: AwsClients, bucket: str) -> Iterator[dict[str, Any]]:
    pages = clients.s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=DECISIONS_PREFIX
    )
    for page in pages:
        for item in page.get("Contents", []):
            body = clients.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            for line in body.iter_lines():
                if line.strip():
                    yield json.loads(line)


def export_alerts(clients: AwsClients, names: ResourceNames, out: TextIO) -> ExportReport:
    """Write every alert in the operators' queue as one JSON line, without taking them out.

    Each alert read is hidden from other readers of the queue while the export runs, so the
    export sees each once; at the end every one is shown again at once, so the export removes
    nothing from the inbox and a second export right after sees the same alerts.
    """
    queue_url = inbox_queue_url(clients, names)
    report = ExportReport()
    seen: set[str] = set()
    handles: list[str] = []
    try:
        while True:
            messages = clients.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_EXPORT_VISIBILITY_SECONDS,
                WaitTimeSeconds=_EMPTY_WAIT_SECONDS,
            ).get("Messages", [])
            if not messages:
                return report
            for message in messages:
                handles.append(message["ReceiptHandle"])
                if message["MessageId"] in seen:
                    report.repeated += 1
                    continue
                seen.add(message["MessageId"])
                out.write(json.dumps(_alert_body(message["Body"])) + "\n")
                report.written += 1
    finally:
        _show_again(clients, queue_url, handles)


def _show_again(clients: AwsClients, queue_url: str, handles: list[str]) -> None:
    """Make the messages read visible to the queue's other readers now, ten per call."""
    for start in range(0, len(handles), 10):
        part = handles[start : start + 10]
        clients.sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(part)
            ],
        )


def _alert_body(body: str) -> Any:
    """The alert itself, whether the subscription delivers it raw or in SNS's envelope."""
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {"unparsed_message": body}
    if isinstance(parsed, dict) and parsed.get("Type") == "Notification" and "Message" in parsed:
        return _alert_body(parsed["Message"])
    return parsed


def utc(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat()
