"""Publishing fraud alerts in the background, without ever losing one.

A decision is durable once it is in the decisions log and its sender is on the block list;
telling the operators is a notification that must happen, but need not hold up the next
transaction. Alerts are therefore handed to background threads, and a shard's place is saved
only after every alert of the batches before it was published and recorded in the alerts
ledger (``settle``), so a replay of those batches sends none again. If SNS is down, the
threads keep trying; a consumer that stops first leaves those batches after the saved place,
so the next reader decides them again and publishes their alerts.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from app.consumer.decisions import Decision
from app.consumer.effects import Effects, chunks
from app.pauses import RetryHook, backoff_seconds

logger = logging.getLogger(__name__)

#: An SNS outage is waited out with pauses of up to these, doubling up to the maximum, each
#: drawn at random below its bound (full jitter, see app.pauses): the alert threads of every
#: consumer hit by one outage must not all come back at the same instant.
_RETRY_PAUSE_SECONDS = 0.2
_MAX_RETRY_PAUSE_SECONDS = 5.0
#: The ``operation`` a retry is counted under (``fds_retries_total``).
LEDGER_OPERATION = "alerts_ledger_lookup"
PUBLISH_OPERATION = "alerts_publish"
MARK_OPERATION = "alerts_mark"
#: How long a thread waits for more batches' alerts before publishing what it has. Batches are
#: small at low rates (a fraud or none each), so without this every alert would take an SNS
#: call of its own; the wait delays an alert, never a decision.
_COALESCE_SECONDS = 0.05
#: Alerts gathered together at most; SNS takes ten per call.
_COALESCE_LIMIT = 50
_ALERTS_PER_CALL = 10


class AlertSender:
    """Background publisher of the alerts of processed batches, tracked per shard.

    ``on_retry`` is told the operation of every failed attempt that will be retried
    (``ConsumerStats.record_retry``), so an SNS outage shows on the metrics, not only the logs.
    """

    def __init__(
        self,
        effects: Effects,
        threads: int = 2,
        coalesce_seconds: float = _COALESCE_SECONDS,
        on_retry: RetryHook | None = None,
    ) -> None:
        self._effects = effects
        self._on_retry = on_retry
        self._coalesce_seconds = coalesce_seconds
        self._queue: queue.Queue[tuple[str, list[Decision]]] = queue.Queue()
        self._unsent: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        # Daemon threads: a process that exits with an alert in retry must not hang on it.
        for number in range(threads):
            threading.Thread(target=self._run, name=f"alerts-{number}", daemon=True).start()

    def send(self, shard_id: str, frauds: list[Decision]) -> None:
        with self._changed:
            self._unsent[shard_id] += 1
        self._queue.put((shard_id, frauds))

    def settle(self, shard_id: str, wait: bool = True) -> bool:
        """True once every alert handed in for this shard is published.

        With ``wait``, blocks until then, or returns False if the sender is closed first;
        without it, answers at once. While it is False, the shard's place must stay before
        the batches whose alerts are still out.
        """
        with self._changed:
            while self._unsent[shard_id] > 0:
                if self._closing.is_set() or not wait:
                    return False
                self._changed.wait(0.5)
        return True

    def close(self) -> None:
        """Stop retrying; alerts not yet published are left to whoever reads their batch next."""
        self._closing.set()
        with self._changed:
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            handed_in = self._gather()
            frauds = [decision for _, batch in handed_in for decision in batch]
            if self._publish_until_sent(frauds):
                with self._changed:
                    for shard_id, _ in handed_in:
                        self._unsent[shard_id] -= 1
                    self._changed.notify_all()

    def _gather(self) -> list[tuple[str, list[Decision]]]:
        """The next batch's alerts, and those of any batches handed in shortly after it."""
        handed_in = [self._queue.get()]
        count = len(handed_in[0][1])
        deadline = time.monotonic() + self._coalesce_seconds
        while count < _COALESCE_LIMIT:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else None
            except queue.Empty:
                item = None
            if item is None:
                break
            handed_in.append(item)
            count += len(item[1])
        return handed_in

    def _publish_until_sent(self, frauds: list[Decision]) -> bool:
        # Looking up, publishing and marking are retried separately: retrying them together
        # after a failed mark would publish the same alerts twice. The look-up skips alerts the
        # ledger knows went out (a replayed batch, or a fraud blocked again after an unblock);
        # retries of the publishing skip what the failed attempts did send.
        published: set[str] = set()

        def look_up(group: list[Decision]) -> None:
            published.update(self._effects.alerts_sent(group))

        if not self._until_done(look_up, frauds, "looked up in the ledger", LEDGER_OPERATION):
            return False
        # Each SNS call's ten alerts are recorded as soon as they are out, so a consumer that
        # dies in between can repeat those ten at most, not the whole group.
        for part in chunks(frauds, _ALERTS_PER_CALL):
            group = list(part)
            if not (
                self._until_done(
                    lambda g: self._effects.publish_alerts(g, published),
                    group,
                    "published",
                    PUBLISH_OPERATION,
                )
                and self._until_done(
                    self._effects.mark_alerted, group, "marked as sent", MARK_OPERATION
                )
            ):
                return False
        return True

    def _until_done(
        self,
        step: Callable[[list[Decision]], None],
        frauds: list[Decision],
        what: str,
        operation: str,
    ) -> bool:
        attempt = 0
        while not self._closing.is_set():
            try:
                step(frauds)
                return True
            except (ClientError, BotoCoreError, RuntimeError) as error:
                pause = backoff_seconds(attempt, _RETRY_PAUSE_SECONDS, _MAX_RETRY_PAUSE_SECONDS)
                logger.warning(
                    "%d alerts not %s (%s); retrying in %.2fs", len(frauds), what, error, pause
                )
                if self._on_retry is not None:
                    self._on_retry(operation)
                self._closing.wait(pause)
                attempt += 1
        return False
