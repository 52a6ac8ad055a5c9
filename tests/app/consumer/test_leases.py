"""Shard leases (``app.consumer.leases``) against the local AWS: sharing, take-over, reshards.

The coordinators here run their rounds by hand (``balance``) on a clock the test moves, so
expiry is exact; the readers are plain threads that run until told to stop, since what is
tested is who reads which shard, not the reading (the consumer tests cover that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.consumer.checkpoints import stream_identity
from app.consumer.leases import (
    DuplicateOwnerError,
    Lease,
    LeaseCoordinator,
    LeaseTable,
    StreamRecreatedError,
)

STREAM = "lease-test-stream"
LEASE_SECONDS = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class IdleReader(threading.Thread):
    """Runs until its stop event is set; ``finish`` makes it end as a closed shard's reader."""

    def __init__(self, shard_id: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.shard_id = shard_id
        self.stop = stop
        self.finished = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        self.stop.wait()

    def finish(self) -> None:
        self.finished.set()
        self.stop.set()
        self.join(5)


@pytest.fixture
def stream(local_aws_env) -> Iterator[Any]:
    kinesis = local_aws_env.clients.kinesis
    kinesis.create_stream(StreamName=STREAM, ShardCount=4)
    yield kinesis
    kinesis.delete_stream(StreamName=STREAM)


def lease_table(env) -> LeaseTable:
    """The leases of the test stream, which must exist: they are keyed by its identity."""
    identity = stream_identity(env.clients.kinesis, STREAM)
    return LeaseTable(env.clients, env.names.checkpoint_table, identity)


@pytest.fixture
def table(local_aws_env, stream) -> LeaseTable:
    return lease_table(local_aws_env)


@pytest.fixture
def coordinators(local_aws_env) -> Iterator[Any]:
    made: list[LeaseCoordinator] = []
    readers: dict[str, list[IdleReader]] = {}

    def make(owner: str, clock: Clock, table: LeaseTable | None = None) -> LeaseCoordinator:
        def new_reader(shard_id: str, stop: threading.Event) -> IdleReader:
            reader = IdleReader(shard_id, stop)
            readers.setdefault(owner, []).append(reader)
            return reader

        coordinator = LeaseCoordinator(
            local_aws_env.clients,
            table or lease_table(local_aws_env),
            STREAM,
            new_reader,
            owner=owner,
            lease_seconds=LEASE_SECONDS,
            clock=clock,
        )
        made.append(coordinator)
        return coordinator

    make.readers = readers  # type: ignore[attr-defined]
    yield make
    for reader in (r for rs in readers.values() for r in rs):
        reader.stop.set()


def running(coordinator: LeaseCoordinator) -> set[str]:
    return {r.shard_id for r in coordinator.readers if r.is_alive()}


# The table ------------------------------------------------------------------------------------


def test_lease_table_writes_only_over_the_lease_last_read(stream, table) -> None:
    # Given a lease taken by one consumer
    first = table.take("shardId-000000000000", "a", seen=None)
    assert first == Lease("shardId-000000000000", "a", 1)

    # When another tries to take it as absent, or to renew a copy it did not win
    # Then both are refused, and the owner's renewal goes through
    assert table.take("shardId-000000000000", "b", seen=None) is None, "taken twice"
    assert table.renew(Lease("shardId-000000000000", "b", 1)) is None, "renewed by a non-owner"
    renewed = table.renew(first)
    assert renewed == Lease("shardId-000000000000", "a", 2)
    assert table.renew(first) is None, "a stale copy of the lease must not renew"

    # And a release frees it, marked finished when asked
    assert table.release(renewed, finished=True)
    assert table.read(["shardId-000000000000", "shardId-000000000001"]) == {
        "shardId-000000000000": Lease("shardId-000000000000", "", 3, finished=True)
    }


# Sharing ---------------------------------------------------------------------------------------


def test_two_consumers_split_four_shards_two_each_without_overlap(stream, coordinators) -> None:
    clock = Clock()
    a, b = coordinators("a", clock), coordinators("b", clock)

    # Given A took every shard while alone
    a.balance()
    assert running(a) == {f"shardId-00000000000{i}" for i in range(4)}

    # When B joins: each round it asks A for a shard, A lets it go (its reader stopped), and B
    # takes it at its next round; never are both reading one shard
    for _ in range(3):
        b.balance()
        assert not running(a) & running(b), "a shard read by both consumers"
        a.balance()
        assert not running(a) & running(b), "a shard read by both consumers"

    # Then each reads two shards
    assert len(running(a)) == 2 and len(running(b)) == 2, (running(a), running(b))
    stopped = [r for r in coordinators.readers["a"] if not r.is_alive()]
    assert {r.shard_id for r in stopped} == running(b), "A must stop reading what B took"


def test_a_dead_consumers_shards_are_taken_over_after_the_lease_period(
    stream, coordinators
) -> None:
    clock = Clock()
    a, b = coordinators("a", clock), coordinators("b", clock)
    a.balance()
    for _ in range(3):
        b.balance()
        a.balance()
    assert len(running(a)) == 2 and len(running(b)) == 2

    # Given A dies: it renews no more, and B has seen its last renewal
    clock.now += 1
    b.balance()

    # When less than a lease period passes since, B takes nothing more
    clock.now += LEASE_SECONDS - 1
    b.balance()
    assert len(running(b)) == 2, "a lease must not expire early"

    # When the lease period has passed without A's counter moving
    clock.now += 2
    b.balance()

    # Then B reads every shard
    assert len(running(b)) == 4


def test_a_stopped_consumer_releases_its_leases_for_an_immediate_take_over(
    stream, coordinators, table
) -> None:
    clock = Clock()
    a, b = coordinators("a", clock), coordinators("b", clock)
    a.balance()

    # When A is stopped the way the consumer stops it (its thread gives everything back)
    a.stop(timeout=5)
    a.start()
    a.join(10)

    # Then every lease is free, and B takes all four at once, no lease period waited
    assert {
        lease.owner for lease in table.read([f"shardId-00000000000{i}" for i in range(4)]).values()
    } == {""}
    assert not running(a)
    b.balance()
    assert len(running(b)) == 4


def test_a_restarted_consumer_takes_its_own_leases_back_at_once(stream, coordinators) -> None:
    # Given a consumer that held every shard and died (a container restarted in its pod)
    clock = Clock()
    coordinators("pod-1:1:1", clock).balance()

    # When its successor starts under the same name
    successor = coordinators("pod-1:1:1", clock)
    successor.balance()

    # Then it reads every shard at once
    assert len(running(successor)) == 4


def test_a_reader_that_died_frees_its_shard_and_is_reported(stream, coordinators, table) -> None:
    clock = Clock()
    a = coordinators("a", clock)
    a.balance()
    dead = coordinators.readers["a"][0]
    dead.error = RuntimeError("boom")
    dead.stop.set()
    dead.join(5)

    # When the next round runs
    a.balance()

    # Then the dead reader is reported and its lease given up for others, not renewed for ever
    assert a.failed == [dead]
    assert table.read([dead.shard_id])[dead.shard_id].owner == ""
    assert dead.shard_id not in running(a)


# Reshards --------------------------------------------------------------------------------------


def test_children_are_read_only_after_every_parent_is_finished(local_aws_env, coordinators) -> None:
    # Given a stream of two shards merged into one (a child with two parents)
    kinesis = local_aws_env.clients.kinesis
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    try:
        kinesis.merge_shards(
            StreamName=STREAM,
            ShardToMerge="shardId-000000000000",
            AdjacentShardToMerge="shardId-000000000001",
        )
        shards = kinesis.list_shards(StreamName=STREAM)["Shards"]
        child = next(s for s in shards if s.get("AdjacentParentShardId"))["ShardId"]
        clock = Clock()
        table = lease_table(local_aws_env)
        a = coordinators("a", clock, table)

        # When the consumer starts: only the parents are read
        a.balance()
        assert running(a) == {"shardId-000000000000", "shardId-000000000001"}

        # When one parent is finished, the child still waits for the other
        readers = {r.shard_id: r for r in coordinators.readers["a"]}
        readers["shardId-000000000000"].finish()
        a.balance()
        assert child not in running(a), "a child must wait for both parents"

        # When the second parent is finished too, the child is read
        readers["shardId-000000000001"].finish()
        a.balance()
        a.balance()
        assert running(a) == {child}
        parents = table.read(["shardId-000000000000", "shardId-000000000001"])
        assert all(lease.finished for lease in parents.values())
    finally:
        kinesis.delete_stream(StreamName=STREAM)


def test_a_request_between_the_read_and_the_renewal_still_hands_the_shard_over(
    stream, coordinators, table, monkeypatch
) -> None:
    # Given A holds every shard, and B's request for one lands after A read the leases
    clock = Clock()
    a = coordinators("a", clock, table)
    a.balance()
    shard_ids = [f"shardId-00000000000{i}" for i in range(4)]
    read_before_the_request = table.read(shard_ids)
    assert table.ask_for(read_before_the_request[shard_ids[0]], "b")
    reads = iter([read_before_the_request])
    real_read = table.read
    monkeypatch.setattr(table, "read", lambda ids: next(reads, None) or real_read(ids))

    # When A's round renews from the stale read
    a.balance()

    # Then its renewal of that shard is refused, and it hands the shard over instead of
    # holding on to a lease it no longer renews
    assert shard_ids[0] not in running(a)
    assert table.read([shard_ids[0]])[shard_ids[0]].owner == ""
    assert {s for s in shard_ids[1:]} == running(a)


class SlowToStop(IdleReader):
    """A reader that, once told to stop, still needs ``done`` set to finish (its batch, its
    alerts and its place)."""

    def __init__(self, shard_id: str, stop: threading.Event) -> None:
        super().__init__(shard_id, stop)
        self.done = threading.Event()

    def run(self) -> None:
        self.stop.wait()
        self.done.wait()


def test_a_shard_handed_over_stays_leased_until_its_reader_is_done(local_aws_env) -> None:
    # Given a single-shard stream read by A, whose reader is slow to stop
    kinesis = local_aws_env.clients.kinesis
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    shard = "shardId-000000000000"
    readers: list[SlowToStop] = []

    def slow_reader(shard_id: str, stop: threading.Event) -> SlowToStop:
        readers.append(SlowToStop(shard_id, stop))
        return readers[-1]

    clock = Clock()
    table = lease_table(local_aws_env)
    a = LeaseCoordinator(
        local_aws_env.clients,
        table,
        STREAM,
        slow_reader,
        owner="a",
        lease_seconds=LEASE_SECONDS,
        clock=clock,
    )
    try:
        a.balance()
        [reader] = readers

        # When B asks for the shard and A starts handing it over
        assert table.ask_for(table.read([shard])[shard], "b")
        a.balance()

        # Then while A's reader is finishing, the lease stays A's and is renewed, not freed
        assert reader.stop.is_set() and reader.is_alive()
        for _ in range(2):
            clock.now += LEASE_SECONDS / 3
            a.balance()
            assert table.read([shard])[shard].owner == "a", "freed before the reader was done"

        # And once the reader is done, the next round frees it for the asker
        reader.done.set()
        reader.join(5)
        a.balance()
        assert table.read([shard])[shard].owner == ""
        assert a.held == []
    finally:
        for r in readers:
            r.stop.set()
            r.done.set()
        kinesis.delete_stream(StreamName=STREAM)


def test_a_stream_created_again_under_its_name_stops_the_coordinator_clearly(
    local_aws_env, coordinators
) -> None:
    # Given a coordinator reading the stream
    kinesis = local_aws_env.clients.kinesis
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    clock = Clock()
    a = coordinators("a", clock)
    a.balance()
    assert a.held == ["shardId-000000000000"]

    # When the stream is deleted and created again (its shard ids start over)
    kinesis.delete_stream(StreamName=STREAM)
    time.sleep(0.01)  # a creation time of its own, to the millisecond
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    clock.now += 11  # the next look at the stream's shards

    # Then the next round refuses to go on with the old places, saying what to do
    try:
        with pytest.raises(StreamRecreatedError, match="start the consumer again"):
            a.balance()
        # And the new stream has no leases and no places of the old one
        fresh = lease_table(local_aws_env)
        assert fresh.read(["shardId-000000000000"]) == {}
    finally:
        kinesis.delete_stream(StreamName=STREAM)


def test_two_running_consumers_under_one_name_are_told_apart_not_left_to_fight(
    stream, coordinators
) -> None:
    # Given a consumer holding every shard, and a second started under the same name (as a
    # restarted container would be, but this one's twin is alive)
    clock = Clock()
    a = coordinators("same", clock)
    a.balance()
    twin = coordinators("same", clock)
    twin.balance()  # at its start it takes what bears its name, as after a restart

    # When the first renews, Then it stops with an error saying what to change
    with pytest.raises(DuplicateOwnerError, match="give each consumer its own FDS_CONSUMER_ID"):
        a.balance()

    # And a later round of the twin does not take leases under its name from a live holder
    held = twin.held
    twin.balance()
    assert twin.held == held
