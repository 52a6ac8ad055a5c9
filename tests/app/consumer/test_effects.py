"""Tests for the consumer's effects on AWS (``app.consumer.effects``) on the local AWS."""

from __future__ import annotations

import base64
from decimal import Decimal

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


def test_a_replayed_fraud_owes_its_alert_until_it_is_marked_sent(
    local_aws_env, effects, make_decision
) -> None:
    fraud = make_decision(tx_id="tx-1", account="C1")
    assert effects.block([fraud]) == [fraud]
    assert local_aws_env.blocklist_item("C1")["alert_state"] == "pending"

    # A replay before the alert went out (a crash in between) owes it again
    assert effects.block([fraud]) == [fraud]

    effects.mark_alerted([fraud])

    # Once marked, a replay owes nothing
    assert effects.block([fraud]) == []
    item = local_aws_env.blocklist_item("C1")
    assert item["alert_state"] == "sent" and item["alerted_at"] > 0


def test_marking_leaves_an_entry_of_another_transaction_or_a_removed_one_alone(
    local_aws_env, effects, make_decision
) -> None:
    effects.block([make_decision(tx_id="tx-1", account="C1")])

    effects.mark_alerted([make_decision(tx_id="tx-9", account="C1"), make_decision(account="C2")])

    assert local_aws_env.blocklist_item("C1")["alert_state"] == "pending"
    assert local_aws_env.blocklist_item("C2") is None, "marking must not create entries"


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
