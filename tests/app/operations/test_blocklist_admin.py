"""Block-list administration (``app.operations.blocklist_admin``) against the local AWS."""

from __future__ import annotations

import json

import pytest

from app.consumer.blocklist import BlockList
from app.consumer.effects import Effects
from app.errors import FdsError
from app.operations import blocklist_admin
from app.operations.blocklist_admin import NotBlockedError


@pytest.fixture
def effects(local_aws_env) -> Effects:
    return Effects(local_aws_env.clients, local_aws_env.resources)


def test_list_and_show_give_plain_json_values(local_aws_env, effects, make_decision) -> None:
    effects.block([make_decision(account="C11", tx_id="t-11", amount=120.5)])
    effects.block([make_decision(account="C12", tx_id="t-12")])

    listed = {
        e["account"]: e
        for e in blocklist_admin.list_blocked(local_aws_env.clients, local_aws_env.names)
    }
    shown = blocklist_admin.show_blocked(local_aws_env.clients, local_aws_env.names, "C11")

    assert set(listed) == {"C11", "C12"}
    assert shown["tx_id"] == "t-11" and shown["amount"] == 120.5 and shown["unblocks"] == []
    json.dumps(listed)  # no Decimal left in


def test_unblock_removes_the_entry_and_records_who_when_and_why(
    local_aws_env, effects, make_decision
) -> None:
    effects.block([make_decision(account="C21", tx_id="t-21")])

    record = blocklist_admin.unblock(
        local_aws_env.clients, local_aws_env.names, "C21", "  verified by phone ", by="ops-anna"
    )

    assert record["unblocked_by"] == "ops-anna" and record["reason"] == "verified by phone"
    assert record["removed_entry"]["tx_id"] == "t-21"
    with pytest.raises(NotBlockedError, match="unblocked 1 time"):
        blocklist_admin.show_blocked(local_aws_env.clients, local_aws_env.names, "C21")
    history = list(
        blocklist_admin.unblock_history(local_aws_env.clients, local_aws_env.names, "C21")
    )
    assert [h["reason"] for h in history] == ["verified by phone"]


def test_unblock_without_identity_uses_the_aws_caller(
    local_aws_env, effects, make_decision
) -> None:
    effects.block([make_decision(account="C22")])
    record = blocklist_admin.unblock(local_aws_env.clients, local_aws_env.names, "C22", "test")
    assert record["unblocked_by"].startswith("arn:aws:")


def test_unblocking_an_account_that_is_not_blocked_records_nothing(local_aws_env) -> None:
    with pytest.raises(NotBlockedError, match="C31 is not on the block list"):
        blocklist_admin.unblock(local_aws_env.clients, local_aws_env.names, "C31", "why")
    assert (
        list(blocklist_admin.unblock_history(local_aws_env.clients, local_aws_env.names, "C31"))
        == []
    )


@pytest.mark.parametrize("account", ["M123", "c123", "C", "C12x", ""])
def test_a_malformed_account_is_refused_with_the_expected_shape(local_aws_env, account) -> None:
    with pytest.raises(FdsError, match="C followed by digits"):
        blocklist_admin.unblock(local_aws_env.clients, local_aws_env.names, account, "why")


def test_an_empty_reason_is_refused(local_aws_env, effects, make_decision) -> None:
    effects.block([make_decision(account="C41")])
    with pytest.raises(FdsError, match="--reason"):
        blocklist_admin.unblock(local_aws_env.clients, local_aws_env.names, "C41", "   ")
    assert blocklist_admin.show_blocked(local_aws_env.clients, local_aws_env.names, "C41")


def test_a_consumer_stops_refusing_an_unblocked_account_after_its_refresh(
    local_aws_env, effects, make_decision, poll
) -> None:
    effects.block([make_decision(account="C51", tx_id="t-51")])
    blocklist = BlockList(effects, refresh_seconds=0.2)
    try:
        assert blocklist.blocked_among({"C51"})["C51"].tx_id == "t-51"

        blocklist_admin.unblock(local_aws_env.clients, local_aws_env.names, "C51", "false alarm")

        poll(
            lambda: not blocklist.blocked_among({"C51"}),
            timeout=5,
            what="the unblock to reach the consumer",
        )
    finally:
        blocklist.close()
