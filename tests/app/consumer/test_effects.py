"""Tests for the consumer's effects on AWS (``app.consumer.effects``) on the local AWS."""

from __future__ import annotations

import base64
import json
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
from ml.explain import FEATURE_WORDS, Reason, describe
from ml.features import FEATURE_NAMES, build_features

#: SNS takes a message of at most 256 KiB, and the same for the ten messages of one PublishBatch.
_SNS_BYTES = 256 * 1024


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


def test_alert_message_says_why_in_words(make_decision) -> None:
    reasons = (
        Reason(
            "drains_sender", 1.0, 10.7523, "the amount equals the sender's whole balance (1.50)"
        ),
        Reason("dest_empty", 1.0, 1.2, "the recipient's balance before was 0"),
        Reason("hour_of_day", 4.0, 0.5, "it was made at 04:00"),
    )
    decision = make_decision(account="C9", amount=1.5, score=0.75, reasons=reasons)

    message = alert_message(decision)

    assert message["reason"] == (
        "fraud score 0.7500 is at or above the model's threshold 0.1000, mostly because the "
        "amount equals the sender's whole balance (1.50), the recipient's balance before was 0 "
        "and it was made at 04:00; account C9 is now blocked"
    )
    assert message["reasons"] == [
        {
            "feature": "drains_sender",
            "value": 1.0,
            "contribution": 10.7523,
            "words": "the amount equals the sender's whole balance (1.50)",
        },
        {
            "feature": "dest_empty",
            "value": 1.0,
            "contribution": 1.2,
            "words": "the recipient's balance before was 0",
        },
        {
            "feature": "hour_of_day",
            "value": 4.0,
            "contribution": 0.5,
            "words": "it was made at 04:00",
        },
    ]


def test_alert_message_ten_of_the_largest_fit_one_sns_call(make_decision) -> None:
    # Given the largest alert the schema allows: the longest ids, the largest amounts, and the
    # three longest reasons any feature can give
    biggest = {
        "step": 1_000_000,
        "type": "TRANSFER",
        "amount": 1e12,
        "oldbalanceOrg": 1e12,
        "oldbalanceDest": 1e12,
        "nameDest": "C" + "9" * 20,
    }
    built = build_features({name: [value] for name, value in biggest.items()})[0]
    row = dict(zip(FEATURE_NAMES, built.tolist(), strict=True))
    phrases = []
    for feature in FEATURE_NAMES:
        for value in (0.0, 1.0, row[feature]):
            phrases.append((len(describe(feature, {**row, feature: value})), feature, value))
    longest = sorted(phrases, reverse=True)[:3]
    reasons = tuple(
        Reason(
            feature,
            -1.2345678901234567e300,
            -1.2345678901234567e-300,
            describe(feature, {**row, feature: value}),
        )
        for _, feature, value in longest
    )
    assert all(feature in FEATURE_WORDS for _, feature, _ in longest)
    decision = make_decision(
        tx_id="t" * 64,
        account="C" + "9" * 20,
        recipient="C" + "9" * 20,
        amount=1e12,
        score=0.999999,
        reasons=reasons,
    )

    # When ten are encoded as the alert sender publishes them
    size = 10 * len(json.dumps(alert_message(decision)).encode())

    # Then one PublishBatch call of ten stays far under SNS's limit
    assert size < _SNS_BYTES / 10, f"ten of the largest alerts take {size} bytes"


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
