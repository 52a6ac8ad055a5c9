"""The consumer's view of the block list (``app.consumer.blocklist``), on the local AWS."""

from __future__ import annotations

import time

import pytest

from app.consumer.blocklist import BlockList
from app.consumer.decisions import Decision, Verdict
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


def fraud(account: str, tx_id: str) -> Decision:
    return Decision(
        tx_id=tx_id,
        account=account,
        recipient="C2",
        amount=10.0,
        type="TRANSFER",
        step=1,
        verdict=Verdict.FRAUD,
        score=0.9,
        threshold=0.1,
        model_version="cb-test",
        shard_id="shardId-000000000000",
        sequence_number="1",
        label=None,
        sent_at=None,
        received_at=1.0,
        decided_at=2.0,
    )


def block_elsewhere(effects: Effects, account: str, tx_id: str) -> None:
    """A block written by someone other than this consumer (an operator, another reader)."""
    assert effects.block([fraud(account, tx_id)]) == 1


def test_blocklist_sees_blocks_present_at_start(effects) -> None:
    block_elsewhere(effects, "C1", "tx-1")

    blocklist = BlockList(effects, refresh_seconds=1000)

    assert blocklist.blocked_among({"C1", "C2"}) == {"C1": "tx-1"}


def test_blocklist_counts_its_own_blocks_at_once(effects) -> None:
    blocklist = BlockList(effects, refresh_seconds=1000)

    blocklist.record([fraud("C7", "tx-7")])

    assert blocklist.blocked_among({"C7"}) == {"C7": "tx-7"}


def test_blocklist_sees_other_blocks_after_a_refresh(effects) -> None:
    # Given a block written elsewhere after the snapshot was taken
    blocklist = BlockList(effects, refresh_seconds=1000)
    block_elsewhere(effects, "C3", "tx-3")
    assert blocklist.blocked_among({"C3"}) == {}, "the snapshot predates the block"

    # When the list refreshes, Then the block counts
    blocklist.refresh()
    assert blocklist.blocked_among({"C3"}) == {"C3": "tx-3"}


def test_blocklist_refresh_takes_older_own_blocks_from_the_table(effects) -> None:
    blocklist = BlockList(effects, refresh_seconds=1000)
    blocklist.record([fraud("C8", "tx-8")])  # recorded, but not (yet) in the table

    blocklist.refresh()

    assert blocklist.blocked_among({"C8"}) == {}, (
        "a block recorded before the scan began must come from the table, not memory"
    )


def test_blocklist_stale_snapshot_is_not_trusted(effects, monkeypatch) -> None:
    # Given a snapshot far older than its refresh interval allows (refreshing kept failing)
    blocklist = BlockList(effects, refresh_seconds=1000)
    block_elsewhere(effects, "C4", "tx-4")
    monkeypatch.setattr(blocklist, "_snapshot_at", time.monotonic() - 10_000)

    # When senders are looked up, Then the table is asked directly
    assert blocklist.blocked_among({"C4"}) == {"C4": "tx-4"}
