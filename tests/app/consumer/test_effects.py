"""Tests for the consumer's effects on AWS (``app.consumer.effects``) on the local AWS."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from app.consumer.effects import (
    Effects,
    RejectedRecord,
    alert_message,
    as_decimal,
    dead_letter_body,
)


@pytest.fixture
def effects(local_aws_env) -> Effects:
    return Effects(local_aws_env.clients, local_aws_env.resources)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (18498.8, "18498.8"),
        (0.1, "0.1"),
        (181.0, "181.0"),
        (1e-7, "1E-7"),
        (9.99e11, "999000000000.0"),
    ],
)
def test_as_decimal_is_the_shortest_exact_text(value: float, expected: str) -> None:
    assert as_decimal(value) == Decimal(expected), f"as_decimal({value!r}) = {as_decimal(value)!r}"


def test_as_decimal_accepts_numpy_floats() -> None:
    assert as_decimal(np.float64(0.3)) == Decimal("0.3")


def test_effects_block_is_idempotent_per_account(local_aws_env, effects, make_decision) -> None:
    # Given an account blocked once
    assert [d.tx_id for d in effects.block([make_decision()])] == ["tx-1"]

    # When it is blocked again by another transaction, together with a new account
    owed = effects.block(
        [make_decision(tx_id="tx-2", amount=5.0), make_decision(tx_id="tx-3", account="C7")]
    )

    # Then only the new account owes an alert, and the first block stays as it was
    assert [d.tx_id for d in owed] == ["tx-3"], "C1's block by tx-1 owes tx-2 no alert"
    item = local_aws_env.blocklist_item("C1")
    assert item is not None and item["tx_id"] == "tx-1" and item["amount"] == Decimal("18498.8")
    assert local_aws_env.blocklist_item("C7") is not None, "C7 was not blocked"


def test_a_replayed_fraud_owes_its_alert_another_account_blocker_does_not(
    local_aws_env, effects, make_decision
) -> None:
    # Given a fraud that blocked its sender
    fraud = make_decision(tx_id="tx-1", account="C1")
    assert effects.block([fraud]) == [fraud]

    # When it is replayed (a crash before its place was saved), it may still owe its alert:
    # the alert sender asks the ledger
    assert effects.block([fraud]) == [fraud]

    # But a second fraud of an account already blocked by another owes none
    assert effects.block([make_decision(tx_id="tx-2", account="C1")]) == []
    assert local_aws_env.blocklist_item("C1")["tx_id"] == "tx-1"


def test_effects_mark_alerted_records_every_fraud_beyond_one_batch_write(
    local_aws_env, effects, make_decision
) -> None:
    # Given 60 frauds (more than one BatchWriteItem of 25), one of them twice
    frauds = [make_decision(tx_id=f"tx-{i}", account=f"C{i}") for i in range(60)]

    # When their alerts are marked sent
    effects.mark_alerted([*frauds, frauds[0]])

    # Then the ledger has exactly them, each to expire after a year, and no account is blocked
    sent = effects.alerts_sent([*frauds, make_decision(tx_id="tx-never", account="C99")])
    assert sent == {f"tx-{i}" for i in range(60)}, f"ledger differs: {sorted(sent)[:5]}..."
    item = local_aws_env.clients.dynamodb.get_item(
        TableName=local_aws_env.names.checkpoint_table,
        Key={"shard_id": {"S": "alert-sent/tx-7"}},
    )["Item"]
    lifetime = float(item["expires_at"]["N"]) - float(item["sent_at"]["N"])
    assert 365 * 86400 < lifetime < 367 * 86400, f"ledger item lives {lifetime / 86400:.1f} days"
    assert local_aws_env.blocklist_item("C7") is None, "marking must not create block entries"


def test_effects_blocked_among_finds_blocked_accounts_beyond_one_batch_get(
    local_aws_env, effects
) -> None:
    # Given 130 blocked accounts (more than one BatchGetItem of 100)
    blocked = sorted(f"C{i}" for i in range(130))
    for start in range(0, len(blocked), 25):
        local_aws_env.clients.dynamodb.batch_write_item(
            RequestItems={
                local_aws_env.names.blocklist_table: [
                    {"PutRequest": {"Item": {"account": {"S": account}}}}
                    for account in blocked[start : start + 25]
                ]
            }
        )

    # When 250 accounts are looked up
    found = effects.blocked_among({f"C{i}" for i in range(250)})

    # Then exactly the blocked ones are found
    assert set(found) == set(blocked), (
        f"missing {set(blocked) - set(found)}, extra {set(found) - set(blocked)}"
    )


def test_effects_publish_alerts_delivers_each_once(local_aws_env, effects, make_decision) -> None:
    frauds = [make_decision(tx_id=f"tx-{i}", account=f"C{i}") for i in range(23)]

    effects.publish_alerts(frauds)

    alerts = local_aws_env.inbox_alerts()
    assert sorted(a["tx_id"] for a in alerts) == sorted(f"tx-{i}" for i in range(23))


def test_alert_message_says_why(make_decision) -> None:
    decision = make_decision(
        tx_id="tx-9", account="C9", recipient="C10", amount=1.5, type="CASH_OUT", score=0.75
    )

    message = alert_message(decision)

    assert message["event"] == "fraud_detected" and message["tx_id"] == "tx-9"
    assert message["reason"] == (
        "fraud score 0.7500 is at or above the model's threshold 0.1000; account C9 is now blocked"
    )


def test_dead_letter_body_keeps_a_truncated_payload_and_its_hash() -> None:
    data = b"\xff" * 10_000
    record = RejectedRecord("record: Invalid JSON", "shardId-1", "77", "C1", data)

    body = dead_letter_body(record)

    assert body["payload_encoding"] == "base64" and body["payload_truncated"] is True
    assert base64.b64decode(body["payload"]) == data[:8192]
    assert body["payload_bytes"] == 10_000 and len(body["payload_sha256"]) == 64
    assert (body["shard_id"], body["sequence_number"]) == ("shardId-1", "77")


class RecordingSqs:
    """An SQS client that records the bytes of each SendMessageBatch call and passes it on."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.call_bytes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.call_bytes.append(sum(len(e["MessageBody"].encode()) for e in kwargs["Entries"]))
        return self._sqs.send_message_batch(**kwargs)


def test_set_aside_keeps_each_call_under_the_sqs_batch_limit(local_aws_env) -> None:
    # Given ten bad records of control bytes, each of whose letters is about 48 KiB of JSON
    sqs = RecordingSqs(local_aws_env.clients.sqs)
    effects = Effects(local_aws_env.with_clients(sqs=sqs), local_aws_env.resources)
    rejected = [
        RejectedRecord(
            reason="Invalid JSON",
            shard_id="shardId-000000000000",
            sequence_number=str(n),
            partition_key="C1",
            data=b"\x01" * 20_000,
        )
        for n in range(10)
    ]

    # When they are set aside
    effects.set_aside(rejected)

    # Then no call carries more than SQS's 256 KiB, and all ten letters arrived
    assert sqs.call_bytes and max(sqs.call_bytes) <= 256 * 1024, sqs.call_bytes
    assert len(sqs.call_bytes) > 1, "ten letters this big cannot fit one call"
    letters = local_aws_env.dead_letters()
    assert sorted(int(letter["sequence_number"]) for letter in letters) == list(range(10))


class UnprocessedOnce:
    """A DynamoDB client whose first BatchWriteItem leaves every item unprocessed."""

    def __init__(self, dynamodb: Any) -> None:
        self._dynamodb = dynamodb
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dynamodb, name)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            return {"UnprocessedItems": kwargs["RequestItems"]}
        return self._dynamodb.batch_write_item(**kwargs)


def test_effects_retry_what_aws_left_unprocessed_and_report_it(
    local_aws_env, make_decision
) -> None:
    # Given a ledger write that AWS leaves undone the first time
    dynamodb = UnprocessedOnce(local_aws_env.clients.dynamodb)
    retried: list[str] = []
    effects = Effects(
        local_aws_env.with_clients(dynamodb=dynamodb), local_aws_env.resources, retried.append
    )
    frauds = [make_decision(tx_id="tx-u1"), make_decision(tx_id="tx-u2", account="C2")]

    # When the alerts are marked as sent
    effects.mark_alerted(frauds)

    # Then the write was retried, the retry reported by operation, and the ledger has both
    assert dynamodb.calls == 2
    assert retried == ["ledger_batch_write"]
    assert effects.alerts_sent(frauds) == {"tx-u1", "tx-u2"}
