"""Pauses: keeping the garbage collector's short, and choosing the ones before a retry.

Garbage collection
------------------

Keeping Python's garbage collector from pausing a process for tens of milliseconds.

CPython's cyclic collector scans every tracked object it holds on each full (oldest
generation) collection. The consumer carries botocore's service models, pandas and CatBoost,
and the local AWS server holds every record, item and object put into it, so a full collection
there stalls every request in flight: measured on a 2-core machine, such a pause showed up as a
150-200 ms spike in decision latency. ``gc.freeze`` moves the objects alive now into a
permanent generation that collections skip; short-lived cycles are still collected as usual.

The cost: a reference cycle that was already garbage but not yet collected when it is frozen
stays in memory. Freezing right after start-up, or once a second in a server whose requests
leave their cycles in the youngest generation, keeps that to a few objects.

Retry backoff
-------------

Every retry loop of the project waits :func:`backoff_seconds` between attempts: exponential
growth up to a cap, with AWS's "full jitter" (the whole pause drawn at random). Consumers and
producers that were throttled together would otherwise all retry together, on the same
doubling schedule, and be throttled together again; spreading each pause over its whole range
breaks them up, and on average waits half as long as the unjittered schedule.
"""

from __future__ import annotations

import gc
import logging
import math
import random
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


def freeze_long_lived_objects() -> None:
    """Collect once, then exempt everything alive now from later full collections."""
    gc.collect()
    gc.freeze()
    logger.debug("%d objects frozen out of garbage collection", gc.get_freeze_count())


def keep_freezing(stop: threading.Event, every_seconds: float = 1.0) -> threading.Thread:
    """Freeze what survived, every so often, until ``stop`` is set: for a process whose state
    only grows, such as the local AWS server."""

    def run() -> None:
        while not stop.wait(every_seconds):
            # A young collection first, so the cycles of requests just finished are freed
            # rather than frozen.
            gc.collect(0)
            gc.freeze()

    thread = threading.Thread(target=run, name="gc-freeze", daemon=True)
    thread.start()
    return thread


#: Told the operation each time a call to AWS is retried (``ConsumerStats.record_retry``).
RetryHook = Callable[[str], None]


def backoff_seconds(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """The pause before retry number ``attempt`` (0 for the first retry): full jitter.

    Drawn uniformly from ``[0, min(cap, base * 2**attempt)]``, as in AWS's "Exponential Backoff
    and Jitter". ``rng`` makes the draw repeatable (tests); by default it is the ``random``
    module's, which is safe to share between threads.

    Raises:
        ValueError: a negative attempt, base or cap.
    """
    if attempt < 0 or base < 0 or cap < 0:
        raise ValueError(f"backoff needs attempt, base and cap >= 0, got {attempt}, {base}, {cap}")
    try:
        ceiling = min(cap, math.ldexp(base, attempt))
    except OverflowError:
        # A loop that retries for long enough doubles past any float: it has reached the cap.
        ceiling = cap
    return (rng or random).uniform(0.0, ceiling)
