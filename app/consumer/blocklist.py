"""The block list as the consumer sees it: a snapshot of the table, kept fresh in the background.

Looking every batch's senders up in DynamoDB costs a round trip on the way to every decision.
Instead the consumer holds the whole list: a snapshot read at start and re-read every
``refresh_seconds`` by a background thread, plus every block this consumer wrote itself, which
counts at once. All of an account's transactions arrive on one shard (the sender is the
partition key) and one consumer reads a shard, so the blocks that matter within the second come
from this consumer; a block written by anyone else (an operator, say) takes effect within one
refresh.

WARNING: each refresh scans the whole table. That is cheap for tens of thousands of blocked
accounts and costly for millions; at that size, follow the table's change stream instead.
If refreshing fails for longer than ``max_age_seconds`` the snapshot is no longer trusted and
each batch's senders are looked up in the table again, so a stale list never decides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from app.consumer.decisions import Blocker, Decision
from app.consumer.effects import Effects

logger = logging.getLogger(__name__)


class BlockList:
    """Blocked senders, each with the transaction that blocked it."""

    def __init__(self, effects: Effects, refresh_seconds: float = 5.0) -> None:
        self._effects = effects
        self._refresh_seconds = refresh_seconds
        self._max_age = 3 * refresh_seconds
        self._lock = threading.Lock()
        self._snapshot: dict[str, Blocker] = {}
        self._snapshot_at = 0.0
        # Blocks written here since the snapshot was taken: the next snapshot includes them.
        self._own: dict[str, tuple[Blocker, float]] = {}
        self._closed = threading.Event()
        self._refreshing = threading.Lock()
        self.refresh()
        threading.Thread(target=self._keep_fresh, name="blocklist", daemon=True).start()

    def blocked_among(self, accounts: set[str]) -> dict[str, Blocker]:
        with self._lock:
            fresh = time.monotonic() - self._snapshot_at <= self._max_age
            if fresh:
                found = {a: self._snapshot[a] for a in accounts if a in self._snapshot}
                found.update({a: self._own[a][0] for a in accounts if a in self._own})
                return found
        logger.warning("block-list snapshot is stale; looking the batch's senders up")
        return self._effects.blocked_among(accounts)

    def record(self, frauds: Iterable[Decision]) -> None:
        """Count the blocks this consumer has just written, before the next snapshot."""
        now = time.monotonic()
        with self._lock:
            for decision in frauds:
                blocker = Blocker(decision.tx_id, decision.shard_id, decision.sequence_number)
                self._own.setdefault(decision.account, (blocker, now))

    def ensure_taken_since(self, moment: float) -> None:
        """Refresh unless the snapshot was begun at or after ``moment`` (``time.monotonic``).

        A reader that takes a shard over calls this first: the shard's last reader may have
        blocked accounts moments ago, and their next transactions are on this shard now.
        Readers starting together share one refresh.
        """
        with self._refreshing:
            with self._lock:
                if self._snapshot_at >= moment:
                    return
            self.refresh()

    def refresh(self) -> None:
        started = time.monotonic()
        snapshot = self._effects.scan_blocklist()
        with self._lock:
            self._snapshot = snapshot
            self._snapshot_at = started
            # Blocks written before the scan began are in it; later ones are kept until next.
            self._own = {a: entry for a, entry in self._own.items() if entry[1] >= started}
        logger.info("block list refreshed: %d accounts", len(snapshot))

    def close(self) -> None:
        """Stop refreshing."""
        self._closed.set()

    def _keep_fresh(self) -> None:
        while not self._closed.wait(self._refresh_seconds):
            try:
                self.refresh()
            except (ClientError, BotoCoreError) as error:
                logger.warning("block list not refreshed (%s); keeping the last snapshot", error)
