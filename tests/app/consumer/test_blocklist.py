"""The consumer's view of the block list (``app.consumer.blocklist``), on the local AWS."""

from __future__ import annotations

import time

import pytest

from app.consumer.blocklist import BlockList
from app.consumer.decisions import Blocker
from app.consumer.effects import Effects


@pytest.fixture
def effects(local_aws_env) -> Effects:
    return Effects(local_aws_env.clients, local_aws_env.resources)


@pytest.fixture(autouse=True)
def close_block_lists(monkeypatch):
    """Stop every BlockList a test makes, so no refresh outlives the local AWS."""
    made: list[BlockList] = []
    original = BlockList.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(BlockList, "__init__", tracking_init)
    yield
    for blocklist in made:
        blocklist.close()


def tx_ids(blocked: dict[str, Blocker]) -> dict[str, str]:
    """Account → the transaction that blocked it."""
    return {account: blocker.tx_id for account, blocker in blocked.items()}


def block_elsewhere(effects: Effects, make_decision, account: str, tx_id: str) -> None:
    """A block written by someone other than this consumer (an operator, another reader)."""
    assert len(effects.block([make_decision(account=account, tx_id=tx_id)])) == 1


def test_blocklist_sees_blocks_present_at_start(effects, make_decision) -> None:
    block_elsewhere(effects, make_decision, "C1", "tx-1")

    blocklist = BlockList(effects, refresh_seconds=1000)

    assert tx_ids(blocklist.blocked_among({"C1", "C2"})) == {"C1": "tx-1"}


def test_blocklist_counts_its_own_blocks_at_once(effects, make_decision) -> None:
    blocklist = BlockList(effects, refresh_seconds=1000)

    blocklist.record([make_decision(account="C7", tx_id="tx-7")])

    assert tx_ids(blocklist.blocked_among({"C7"})) == {"C7": "tx-7"}


def test_blocklist_sees_other_blocks_after_a_refresh(effects, make_decision) -> None:
    # Given a block written elsewhere after the snapshot was taken
    blocklist = BlockList(effects, refresh_seconds=1000)
    block_elsewhere(effects, make_decision, "C3", "tx-3")
    assert tx_ids(blocklist.blocked_among({"C3"})) == {}, "the snapshot predates the block"

    # When the list refreshes, Then the block counts
    blocklist.refresh()
    assert tx_ids(blocklist.blocked_among({"C3"})) == {"C3": "tx-3"}


def test_blocklist_refresh_takes_older_own_blocks_from_the_table(effects, make_decision) -> None:
    blocklist = BlockList(effects, refresh_seconds=1000)
    # Recorded here, but not (yet) written to the table
    blocklist.record([make_decision(account="C8", tx_id="tx-8")])

    blocklist.refresh()

    assert tx_ids(blocklist.blocked_among({"C8"})) == {}, (
        "a block recorded before the scan began must come from the table, not memory"
    )


def test_blocklist_stale_snapshot_is_not_trusted(effects, make_decision, monkeypatch) -> None:
    # Given a snapshot far older than its refresh interval allows (refreshing kept failing)
    blocklist = BlockList(effects, refresh_seconds=1000)
    block_elsewhere(effects, make_decision, "C4", "tx-4")
    monkeypatch.setattr(blocklist, "_snapshot_at", time.monotonic() - 10_000)

    # When senders are looked up, Then the table is asked directly
    assert tx_ids(blocklist.blocked_among({"C4"})) == {"C4": "tx-4"}
