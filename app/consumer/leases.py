"""Shard leases: several consumers share a stream, each shard read by one of them at a time.

Each shard has a lease item in the checkpoint table (key ``lease/<stream>/<shard>``) that names
its owner and carries a counter the owner moves on at every renewal. Every write is conditional
on the owner and counter last read, so two consumers can never both believe a write of theirs
won. Nobody compares clocks across machines: a consumer counts a lease as expired when its
counter has not moved for ``lease_seconds`` by its own monotonic clock, which is how the Kinesis
Client Library does it, and pod clocks never enter into it.

The Kinesis Client Library itself is Java (its Python binding runs a JVM beside the process) and
takes over checkpointing as well, which here must follow the effects; so the leases are kept in
a few conditional DynamoDB writes of our own.

Balance: every renewal round, a consumer counts the live owners of the readable shards and aims
at its fair share (shards over owners, rounded up). It takes free and expired leases first and,
when none is left and it is still short, asks the consumer that holds the most for one. That
consumer, at its next round, stops reading the shard, lets its reader save its place and frees
the lease, which the asker takes at its own next round: a shard changes hands without two
readers on it at once. Only a consumer that stalls for longer than a lease period (and so
loses its leases without knowing) can still read beside the one that took over; every effect is
safe to repeat, but the two may cut their batches differently and log such a decision twice.

A shard closed by a reshard is read to its end, then its lease is marked finished; its children
become readable only when every parent is finished (or has aged out of the stream), so the
records of one account stay in order across a reshard.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import count
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.aws import AwsClients
from app.consumer.checkpoints import stream_identity
from app.consumer.effects import batch_get
from app.errors import FdsError

logger = logging.getLogger(__name__)

LEASE_PREFIX = "lease/"
#: The checkpoint table's key attribute; lease items share the table with the checkpoints.
_KEY = "shard_id"
#: How often the shard list is read again, to notice a reshard.
_SHARD_LIST_REFRESH_SECONDS = 10.0

_instances = count(1)


class StreamRecreatedError(FdsError):
    """The stream under the consumer's name is not the one it started on."""


class DuplicateOwnerError(FdsError):
    """Another running consumer holds leases under this consumer's name."""


def default_owner_id() -> str:
    """``host:pid:n``: unique among live consumers, and the same for a container restarted in
    its pod (same host name, same process id 1), which may then take its leases back at once.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{next(_instances)}"


@dataclass(frozen=True)
class Lease:
    shard_id: str
    owner: str  # empty when released
    counter: int
    finished: bool = False
    #: Another consumer asking for the lease, to even out the shards.
    wanted_by: str = ""


class LeaseTable:
    """Reads and conditionally writes the lease items of one stream; ``stream`` is its
    ``stream_identity``, so a stream created again under its name starts with no leases."""

    def __init__(self, clients: AwsClients, table: str, stream: str) -> None:
        self._dynamodb = clients.dynamodb
        self._table = table
        self.stream = stream

    def _key(self, shard_id: str) -> dict[str, dict[str, str]]:
        return {_KEY: {"S": f"{LEASE_PREFIX}{self.stream}/{shard_id}"}}

    def read(self, shard_ids: Sequence[str]) -> dict[str, Lease]:
        """The leases of these shards that exist, by shard id (strongly consistent)."""
        items = batch_get(
            self._dynamodb, self._table, [self._key(s) for s in shard_ids], consistent=True
        )
        prefix = len(f"{LEASE_PREFIX}{self.stream}/")
        leases = {}
        for item in items:
            shard_id = item[_KEY]["S"][prefix:]
            leases[shard_id] = Lease(
                shard_id=shard_id,
                owner=item.get("owner", {}).get("S", ""),
                counter=int(item.get("lease_counter", {}).get("N", "0")),
                finished=item.get("finished", {}).get("BOOL", False),
                wanted_by=item.get("wanted_by", {}).get("S", ""),
            )
        return leases

    def take(self, shard_id: str, owner: str, seen: Lease | None) -> Lease | None:
        """Make ``owner`` the holder, if the lease is still as ``seen`` (or still absent)."""
        taken = Lease(shard_id, owner, (seen.counter if seen else 0) + 1)
        return taken if self._write(taken, expected=seen) else None

    def renew(self, lease: Lease) -> Lease | None:
        """Move the counter on; None when the lease is no longer ours."""
        renewed = replace(lease, counter=lease.counter + 1, wanted_by="")
        return renewed if self._write(renewed, expected=lease) else None

    def ask_for(self, lease: Lease, asker: str) -> bool:
        """Ask the owner to hand the lease over; it lets go once its reader has stopped."""
        return self._write(replace(lease, wanted_by=asker), expected=lease)

    def release(self, lease: Lease, *, finished: bool = False) -> bool:
        """Give the lease up (for good when the shard is finished); False if it was lost."""
        released = Lease(lease.shard_id, "", lease.counter + 1, finished=finished)
        return self._write(released, expected=lease)

    def _write(self, lease: Lease, expected: Lease | None) -> bool:
        condition: dict[str, Any]
        if expected is None:
            condition = {"ConditionExpression": f"attribute_not_exists({_KEY})"}
        else:
            condition = {
                # The counter alone does not tell a request to hand over (which keeps it) from
                # no change, so what was asked for is part of the condition too.
                "ConditionExpression": "#owner = :owner AND #counter = :counter AND "
                "#wanted = :wanted",
                "ExpressionAttributeNames": {
                    "#owner": "owner",
                    "#counter": "lease_counter",
                    "#wanted": "wanted_by",
                },
                "ExpressionAttributeValues": {
                    ":owner": {"S": expected.owner},
                    ":counter": {"N": str(expected.counter)},
                    ":wanted": {"S": expected.wanted_by},
                },
            }
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **self._key(lease.shard_id),
                    "owner": {"S": lease.owner},
                    "lease_counter": {"N": str(lease.counter)},
                    "finished": {"BOOL": lease.finished},
                    "wanted_by": {"S": lease.wanted_by},
                    "updated_at": {"N": f"{time.time():.3f}"},
                },
                **condition,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class ShardReader(Protocol):
    """What the coordinator needs of a shard's reader (``ShardWorker``)."""

    shard_id: str
    finished: threading.Event
    error: BaseException | None

    def start(self) -> None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


#: Starts nothing: builds the reader of a shard, which stops when the given event is set.
ReaderFactory = Callable[[str, threading.Event], ShardReader]


@dataclass
class _Held:
    lease: Lease
    reader: ShardReader
    stop: threading.Event
    #: When the hand-over to an asker began: the reader is stopping, the lease kept meanwhile.
    handing_over_since: float | None = None


class LeaseCoordinator(threading.Thread):
    """Holds this consumer's share of the leases and runs a reader for each shard it holds."""

    def __init__(
        self,
        clients: AwsClients,
        table: LeaseTable,
        stream: str,
        new_reader: ReaderFactory,
        *,
        owner: str,
        lease_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="shard-leases", daemon=True)
        self._kinesis = clients.kinesis
        self._table = table
        self._stream = stream
        self._new_reader = new_reader
        self.owner = owner
        self._lease_seconds = lease_seconds
        # Renewing three times per lease period leaves two renewals of slack for a slow call.
        self._renew_every = lease_seconds / 3
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        # Per shard, the (owner, counter) last read and when it was first read so.
        self._seen: dict[str, tuple[str, int, float]] = {}
        self._shards: list[dict[str, Any]] = []
        self._shards_read_at = -math.inf
        self._stopping = threading.Event()
        self._stop_deadline = math.inf
        self.rounds = 0
        #: Readers that died of an error; any makes the consumer unhealthy.
        self.failed: list[ShardReader] = []
        self.error: BaseException | None = None

    # What the consumer and its health endpoint ask.

    @property
    def readers(self) -> list[ShardReader]:
        """The readers of the shards held now."""
        with self._lock:
            return [held.reader for held in self._held.values()]

    @property
    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                started = self._clock()
                try:
                    self.balance()
                except (ClientError, BotoCoreError) as error:
                    # Leases still held are renewed next round; only one that cannot be
                    # renewed for a whole lease period is lost, and the reader then stopped.
                    logger.warning("lease round failed (%s); trying again", error)
                self._stopping.wait(max(self._renew_every - (self._clock() - started), 0))
        except FdsError as error:  # a condition the operator must act on, said plainly
            self.error = error
            logger.error("the lease coordinator stopped: %s", error)
        except BaseException as error:  # the consumer must see it die, not silently
            self.error = error
            logger.exception("the lease coordinator stopped by an error")
            raise
        finally:
            self._give_back()

    def stop(self, timeout: float) -> None:
        """Stop taking and renewing; readers get ``timeout`` seconds to save their place."""
        self._stop_deadline = self._clock() + timeout
        self._stopping.set()

    # One round.

    def balance(self) -> None:
        """Renew what is held, let go of what was lost or finished, take a fair share."""
        shards = self._list_shards()
        leases = self._table.read([shard["ShardId"] for shard in shards])
        now = self._clock()
        self._observe(leases.values(), now)
        self._renew(leases)
        self._retire_finished()

        listed = {shard["ShardId"] for shard in shards}
        readable = [s["ShardId"] for s in shards if self._readable(s, leases, listed)]
        live_owners = Counter(
            lease.owner
            for shard_id, lease in leases.items()
            if shard_id in readable and not self._expired(lease, now)
        )
        live_owners.pop(self.owner, None)
        fair_share = math.ceil(len(readable) / (len(live_owners) + 1)) if readable else 0
        with self._lock:
            short = fair_share - len(self._held)
            held = set(self._held)
        free = [s for s in readable if s not in held and self._takeable(leases.get(s), now)]
        for shard_id in free[: max(short, 0)]:
            if self._take(shard_id, leases.get(shard_id)):
                short -= 1
        if short > 0 and live_owners:
            busiest, holding = live_owners.most_common(1)[0]
            if holding > fair_share:
                victim = next(s for s in readable if s in leases and leases[s].owner == busiest)
                logger.info(
                    "asking %s for shard %s: it holds %d of %d readable shards",
                    busiest,
                    victim,
                    holding,
                    len(readable),
                )
                self._table.ask_for(leases[victim], self.owner)
        self.rounds += 1

    def _list_shards(self) -> list[dict[str, Any]]:
        if self._clock() - self._shards_read_at >= _SHARD_LIST_REFRESH_SECONDS:
            if stream_identity(self._kinesis, self._stream) != self._table.stream:
                raise StreamRecreatedError(
                    f"stream {self._stream} was deleted and created again while this consumer "
                    "read it; start the consumer again to read the new stream from its start"
                )
            shards: list[dict[str, Any]] = []
            request: dict[str, Any] = {"StreamName": self._stream}
            while True:
                response = self._kinesis.list_shards(**request)
                shards += response["Shards"]
                if not response.get("NextToken"):
                    break
                request = {"NextToken": response["NextToken"]}
            self._shards, self._shards_read_at = shards, self._clock()
        return self._shards

    def _observe(self, leases: Any, now: float) -> None:
        for lease in leases:
            previous = self._seen.get(lease.shard_id)
            if previous is None or previous[:2] != (lease.owner, lease.counter):
                self._seen[lease.shard_id] = (lease.owner, lease.counter, now)

    def _expired(self, lease: Lease, now: float) -> bool:
        if not lease.owner:
            return True
        seen = self._seen.get(lease.shard_id)
        return seen is not None and now - seen[2] >= self._lease_seconds

    def _takeable(self, lease: Lease | None, now: float) -> bool:
        # At start, a lease under our own name was left by an earlier run of this very
        # consumer (a container restarted in its pod), which is dead: take it back at once.
        # Later, only a second consumer under our name can hold one, and it must not be taken.
        own_and_left = lease is not None and lease.owner == self.owner and self.rounds == 0
        return lease is None or own_and_left or self._expired(lease, now)

    @staticmethod
    def _readable(shard: dict[str, Any], leases: dict[str, Lease], listed: set[str]) -> bool:
        """Not finished, and every parent still in the stream read to its end.

        A parent no longer listed has aged out of the stream's retention: nothing is left to
        read in it, so it holds nothing up.
        """
        lease = leases.get(shard["ShardId"])
        if lease is not None and lease.finished:
            return False
        parents = (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
        return all(
            parent is None or parent not in listed or (parent in leases and leases[parent].finished)
            for parent in parents
        )

    def _renew(self, leases: dict[str, Lease]) -> None:
        with self._lock:
            held = list(self._held.items())
        for shard_id, entry in held:
            current = leases.get(shard_id)
            if entry.handing_over_since is not None:
                if current is not None and self._still_ours(current, entry):
                    self._hand_over(shard_id, entry, current)
                else:
                    self._drop(shard_id, entry)
                continue
            if not entry.reader.is_alive():
                if not entry.reader.finished.is_set():
                    self._let_go_of_dead_reader(shard_id, entry)
                continue
            renewed = None
            if current == entry.lease:
                renewed = self._table.renew(entry.lease)
                if renewed is None:
                    # Asked for between the read and the renewal? Then it is still ours to hand.
                    current = self._table.read([shard_id]).get(shard_id)
            if (
                renewed is None
                and current is not None
                and current.wanted_by
                and self._still_ours(current, entry)
            ):
                self._hand_over(shard_id, entry, current)
                continue
            if (
                renewed is None
                and current is not None
                and current.owner == self.owner
                and current.counter != entry.lease.counter
            ):
                # Our name, a counter we did not move: a second consumer runs under our name,
                # and the two would take the shard from each other for ever.
                self._drop(shard_id, entry)
                raise DuplicateOwnerError(
                    f"another running consumer holds shard {shard_id} under this consumer's "
                    f"name {self.owner!r}: give each consumer its own FDS_CONSUMER_ID, or leave "
                    "it unset"
                )
            if renewed is None:
                logger.warning("lost the lease of shard %s; stopping its reader", shard_id)
                self._drop(shard_id, entry)
                continue
            entry.lease = renewed
            self._seen[shard_id] = (renewed.owner, renewed.counter, self._clock())

    @staticmethod
    def _still_ours(current: Lease, entry: _Held) -> bool:
        """Nobody took the lease; at most someone asked for it."""
        return (current.owner, current.counter) == (entry.lease.owner, entry.lease.counter)

    def _hand_over(self, shard_id: str, entry: _Held, current: Lease) -> None:
        """Stop reading, let the reader save its place, then free the lease for the asker.

        The lease is kept, renewed round after round, until the reader is done (its batch
        finished, its alerts out, its place saved); only then is it freed, and the asker takes
        it at its next round from the place saved here, so the two never read the shard at
        the same time. A reader that takes longer than a lease period to stop is let go.
        """
        now = self._clock()
        if entry.handing_over_since is None:
            logger.info("handing shard %s over to %s", shard_id, current.wanted_by)
            entry.handing_over_since = now
            entry.stop.set()
            # Most readers stop within milliseconds: free the lease in this very round.
            entry.reader.join(min(0.5, self._renew_every / 4))
        overdue = now - entry.handing_over_since >= self._lease_seconds
        if not entry.reader.is_alive() or overdue:
            if overdue and entry.reader.is_alive():
                logger.warning("the reader of shard %s is slow to stop; letting go", shard_id)
            with self._lock:
                self._held.pop(shard_id, None)
            self._table.release(current)
            return
        renewed = self._table.renew(current)
        if renewed is not None:
            entry.lease = renewed
            self._seen[shard_id] = (renewed.owner, renewed.counter, now)

    def _drop(self, shard_id: str, entry: _Held) -> None:
        entry.stop.set()
        with self._lock:
            self._held.pop(shard_id, None)

    def _let_go_of_dead_reader(self, shard_id: str, entry: _Held) -> None:
        """A reader died of an error: keep it for the health check, free its shard for others."""
        logger.error("the reader of shard %s died; releasing its lease", shard_id)
        with self._lock:
            self._held.pop(shard_id, None)
            self.failed.append(entry.reader)
        self._table.release(entry.lease)

    def _retire_finished(self) -> None:
        """Readers that read a closed shard to its end mark its lease finished."""
        with self._lock:
            done = [(s, e) for s, e in self._held.items() if e.reader.finished.is_set()]
        for shard_id, entry in done:
            entry.reader.join(5.0)
            if self._table.release(entry.lease, finished=True):
                logger.info("shard %s finished; its children may now be read", shard_id)
            with self._lock:
                self._held.pop(shard_id, None)

    def _take(self, shard_id: str, seen: Lease | None) -> bool:
        lease = self._table.take(shard_id, self.owner, seen)
        if lease is None:
            return False  # another consumer was quicker
        stop = threading.Event()
        reader = self._new_reader(shard_id, stop)
        with self._lock:
            self._held[shard_id] = _Held(lease, reader, stop)
        self._seen[shard_id] = (lease.owner, lease.counter, self._clock())
        reader.start()
        logger.info("took the lease of shard %s", shard_id)
        return True

    def _give_back(self) -> None:
        """Stop every reader, let it save its place, then release its lease for the others."""
        with self._lock:
            held = list(self._held.values())
        for entry in held:
            entry.stop.set()
        # Stopped by an error rather than asked to: give the readers one lease period.
        deadline = min(self._stop_deadline, self._clock() + self._lease_seconds)
        for entry in held:
            entry.reader.join(max(deadline - self._clock(), 0))
            if entry.reader.is_alive():
                continue  # still busy: the lease expires instead, after its reader is gone
            try:
                self._table.release(entry.lease, finished=entry.reader.finished.is_set())
            except (ClientError, BotoCoreError) as error:
                logger.warning("cannot release shard %s (%s)", entry.lease.shard_id, error)
