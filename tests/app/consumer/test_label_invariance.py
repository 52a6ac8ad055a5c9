"""The label never decides: a running consumer decides the same with ``isFraud`` as given,
flipped, removed or malformed.

Each variant runs the whole path on the local AWS: the records go onto the stream, a consumer
reads, scores and acts on them, and the decisions are read back from the decisions log and the
alerts from the operators' inbox, with the same reader ``fds alerts export`` uses.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from app.consumer.consumer import Consumer
from app.operations import audit
from app.producer import StreamProducer
from app.settings import Settings

SETTINGS = Settings(environment="local", poll_interval_seconds=0.01)
REAL_ROWS = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "paysim"
    / "paysim_inorder_steps001-010.csv"
)

Row = dict[str, Any]


def crafted_rows(make_row: Callable[..., Row], make_fraud_row: Callable[..., Row]) -> list[Row]:
    """Takeovers, payments, a refused retry, and rows whose label disagrees with what they are."""
    rows = [
        make_fraud_row(tx_id="t-transfer", nameOrig="C101", amount=181.0),
        make_fraud_row(tx_id="t-cash-out", nameOrig="C102", amount=9000.0, type="CASH_OUT"),
        make_row(tx_id="t-payment", nameOrig="C103"),
        make_row(tx_id="t-retry", nameOrig="C101"),
        # A takeover labelled legit, and a payment labelled fraud
        make_fraud_row(tx_id="t-unlabelled-takeover", nameOrig="C104", isFraud=0),
        make_row(tx_id="t-mislabelled-payment", nameOrig="C105", isFraud=1),
        make_row(
            tx_id="t-transfer-part",
            nameOrig="C106",
            type="TRANSFER",
            amount=250.0,
            oldbalanceOrg=80_000.0,
            nameDest="C4000000002",
            oldbalanceDest=1200.0,
        ),
    ]
    rows += [make_row(tx_id=f"t-p{i}", nameOrig=f"C2{i:02d}", amount=10.0 + i) for i in range(20)]
    return rows


def real_rows(count: int) -> list[Row]:
    """The first ``count`` rows of PaySim's first steps, with their real labels."""
    with REAL_ROWS.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = []
        for i, raw in enumerate(islice(reader, count)):
            row: Row = {"tx_id": f"r-{i}", "type": raw["type"], "nameOrig": raw["nameOrig"]}
            row["nameDest"] = raw["nameDest"]
            for name in ("step", "isFraud", "isFlaggedFraud"):
                row[name] = int(raw[name])
            for name in ("amount", "oldbalanceOrg", "newbalanceOrig"):
                row[name] = float(raw[name])
            for name in ("oldbalanceDest", "newbalanceDest"):
                row[name] = float(raw[name])
            rows.append(row)
    return rows


def flipped(rows: list[Row]) -> list[Row]:
    return [{**row, "isFraud": 1 - row["isFraud"]} for row in rows]


def removed(rows: list[Row]) -> list[Row]:
    return [{k: v for k, v in row.items() if k != "isFraud"} for row in rows]


def malformed(rows: list[Row]) -> list[Row]:
    return [{**row, "isFraud": ["yes", 2, True, None][i % 4]} for i, row in enumerate(rows)]


def run_consumer(env, model, rows: list[Row], poll) -> tuple[dict[str, Any], dict[str, Any]]:
    """Put ``rows`` on a fresh stream, let a consumer decide them all; the decisions and alerts.

    Returns the decisions log as tx_id → the whole logged decision, and the inbox as
    tx_id → the whole alert.
    """
    env.reset()
    StreamProducer(env.clients.kinesis, env.names.stream).run(rows)
    consumer = Consumer(env.clients, SETTINGS, model)
    consumer.start()
    # Stopping waits for the alerts of every batch decided, so the inbox is complete after it.
    try:
        poll(
            lambda: consumer.stats.handled >= len(rows) or bool(consumer.failed),
            timeout=60,
            what=f"the consumer to handle {len(rows)} records",
        )
    finally:
        consumer.stop()
    assert not consumer.failed, f"shard workers failed: {[w.error for w in consumer.failed]}"
    assert consumer.stats.dead_lettered == 0, "a record was set aside"

    decisions = {d["tx_id"]: d for d in env.decision_log()}
    out = io.StringIO()
    audit.export_alerts(env.clients, env.names, out)
    alerts = {a["tx_id"]: a for a in map(json.loads, out.getvalue().splitlines())}
    return decisions, alerts


def what_was_decided(decisions: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {tx_id: (d["verdict"], d["score"], d["reasons"]) for tx_id, d in decisions.items()}


def what_was_alerted(alerts: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {tx_id: (a["score"], a["reason"], a["reasons"]) for tx_id, a in alerts.items()}


def assert_label_never_decides(env, model, rows: list[Row], poll) -> dict[str, Any]:
    """Run ``rows`` with the label as given, flipped, removed and malformed; assert that the
    decisions and the alerts are identical. Returns the decisions as given."""
    given, given_alerts = run_consumer(env, model, rows, poll)
    assert set(given) == {row["tx_id"] for row in rows}, "a transaction was not decided"
    # Each fraud's alert, as `fds alerts export` reads it, carries the reasons it was logged with
    frauds = {tx_id for tx_id, d in given.items() if d["verdict"] == "fraud"}
    assert set(given_alerts) == frauds, f"alerts {sorted(given_alerts)} for frauds {sorted(frauds)}"
    for tx_id in frauds:
        assert given_alerts[tx_id]["reasons"] == given[tx_id]["reasons"], tx_id
        assert given[tx_id]["reasons"], f"{tx_id} is fraud without reasons"

    for name, variant in (("flipped", flipped), ("removed", removed), ("malformed", malformed)):
        changed = variant(rows)
        decisions, alerts = run_consumer(env, model, changed, poll)

        # The consumer did receive the changed label (so the comparison means something)...
        sent = {row["tx_id"]: row.get("isFraud") for row in changed}
        logged = {tx_id: d["label"] for tx_id, d in decisions.items()}
        expected = {k: v if type(v) is int and v in (0, 1) else None for k, v in sent.items()}
        assert logged == expected, f"{name}: labels logged are not the labels sent"

        # ...and decided, scored, explained and alerted exactly as before
        assert what_was_decided(decisions) == what_was_decided(given), (
            f"{name} isFraud changed a decision"
        )
        assert what_was_alerted(alerts) == what_was_alerted(given_alerts), (
            f"{name} isFraud changed an alert"
        )
    return given


def test_consumer_decisions_ignore_the_label(
    local_aws_env, model, poll, make_row, make_fraud_row
) -> None:
    # Given takeovers, payments, a retry by a blocked account and mislabelled rows
    rows = crafted_rows(make_row, make_fraud_row)

    # When / Then each label variant is decided the same
    given = assert_label_never_decides(local_aws_env, model, rows, poll)

    # And the comparison covered every verdict, with reasons for the frauds alone
    verdicts = {tx_id: d["verdict"] for tx_id, d in given.items()}
    assert verdicts["t-transfer"] == verdicts["t-unlabelled-takeover"] == "fraud", verdicts
    assert verdicts["t-retry"] == "refused" and verdicts["t-mislabelled-payment"] == "normal"
    for tx_id, decision in given.items():
        has_reasons = bool(decision["reasons"])
        assert has_reasons == (decision["verdict"] == "fraud"), f"{tx_id}: {decision}"


@pytest.mark.real_data
def test_consumer_decisions_ignore_the_label_of_real_rows(local_aws_env, model, poll) -> None:
    if not REAL_ROWS.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_ROWS} (shared/ next to the repository)")

    # Given PaySim's first 400 rows, with their real labels
    rows = real_rows(400)
    assert sum(row["isFraud"] for row in rows) > 0, "the sample should hold frauds"

    # When / Then each label variant is decided the same
    given = assert_label_never_decides(local_aws_env, model, rows, poll)
    assert any(d["verdict"] == "fraud" for d in given.values()), "no fraud was detected"
