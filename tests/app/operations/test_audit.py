"""Audit exports (``app.operations.audit``): decisions from the log, alerts from the inbox."""

from __future__ import annotations

import io
import json

from app.consumer.effects import Effects
from app.operations import audit
from ml.explain import Reason


def export(function, env) -> tuple[list[dict], audit.ExportReport]:
    out = io.StringIO()
    report = function(env.clients, env.names, out)
    return [json.loads(line) for line in out.getvalue().splitlines()], report


def test_decisions_export_writes_each_transaction_once_with_its_reason(
    local_aws_env, make_decision
) -> None:
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    fraud = make_decision(tx_id="t-1", sequence_number="10").to_json_dict()
    normal = make_decision(tx_id="t-2", verdict="normal", score=0.01, sequence_number="11")
    refused = make_decision(tx_id="t-3", verdict="refused", score=None, sequence_number="12")
    effects.log_decisions("shardId-000000000000", [fraud, normal.to_json_dict()])
    # The same batch logged again from a later place, as after a crash before the checkpoint
    effects.log_decisions("shardId-000000000000", [normal.to_json_dict(), refused.to_json_dict()])

    exported, report = export(audit.export_decisions, local_aws_env)

    assert [d["tx_id"] for d in exported] == ["t-1", "t-2", "t-3"]
    assert report.written == 3 and report.repeated == 1
    reasons = {d["tx_id"]: d["reason"] for d in exported}
    assert "at or above the model's threshold 0.1000" in reasons["t-1"]
    assert "below" in reasons["t-2"]
    assert "already on the block list" in reasons["t-3"]
    assert exported[0]["decided_at_utc"].startswith("2023-11-14T22:13:20")


def test_decisions_export_says_a_fraud_s_reasons_in_words(local_aws_env, make_decision) -> None:
    # Given a fraud logged with its reasons, and one logged before frauds carried any
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    reasons = (
        Reason(
            "drains_sender", 1.0, 10.75, "the amount equals the sender's whole balance (181.00)"
        ),
        Reason("dest_empty", 1.0, 1.27, "the recipient's balance before was 0"),
    )
    explained = make_decision(tx_id="t-1", sequence_number="10", reasons=reasons)
    older = {**make_decision(tx_id="t-2", sequence_number="11").to_json_dict()}
    del older["reasons"]
    effects.log_decisions("shardId-000000000000", [explained.to_json_dict(), older])

    # When the log is exported
    exported, _ = export(audit.export_decisions, local_aws_env)

    # Then the explained fraud's reason says them, and keeps them as logged; the older says the
    # score alone
    by_id = {d["tx_id"]: d for d in exported}
    assert by_id["t-1"]["reason"] == (
        "fraud score 0.9877 is at or above the model's threshold 0.1000, mostly because the "
        "amount equals the sender's whole balance (181.00) and the recipient's balance before "
        "was 0"
    )
    assert [r["feature"] for r in by_id["t-1"]["reasons"]] == ["drains_sender", "dest_empty"]
    assert by_id["t-2"]["reason"] == (
        "fraud score 0.9877 is at or above the model's threshold 0.1000"
    )


def test_alerts_export_reads_every_alert_and_leaves_the_queue_as_it_was(
    local_aws_env, make_decision
) -> None:
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    effects.publish_alerts([make_decision(tx_id=f"t-{i}", account=f"C{i}") for i in range(13)])

    exported, report = export(audit.export_alerts, local_aws_env)

    assert sorted(a["tx_id"] for a in exported) == sorted(f"t-{i}" for i in range(13))
    assert report.written == 13
    assert all(a["event"] == "fraud_detected" and a["reason"] for a in exported)
    queued = local_aws_env.clients.sqs.get_queue_attributes(
        QueueUrl=audit.inbox_queue_url(local_aws_env.clients, local_aws_env.names),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert queued["ApproximateNumberOfMessages"] == "13", (
        f"the export must neither delete nor hide the alerts: {queued}"
    )

    # And an export right after sees the same alerts
    again, _ = export(audit.export_alerts, local_aws_env)
    assert sorted(a["tx_id"] for a in again) == sorted(a["tx_id"] for a in exported)


def test_alert_bodies_in_the_sns_envelope_are_unwrapped() -> None:
    envelope = json.dumps({"Type": "Notification", "Message": json.dumps({"tx_id": "t-9"})})
    assert audit._alert_body(envelope) == {"tx_id": "t-9"}
    assert audit._alert_body("not json") == {"unparsed_message": "not json"}
