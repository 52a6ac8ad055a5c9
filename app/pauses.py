"""Keeping Python's garbage collector from pausing a process for tens of milliseconds.

CPython's cyclic collector scans every tracked object it holds on each full (oldest
generation) collection. The consumer carries botocore's service models, pandas and CatBoost,
and the local AWS server holds every record, item and object put into it, so a full collection
there stalls every request in flight: measured on a 2-core machine, such a pause showed up as a
150-200 ms spike in decision latency. ``gc.freeze`` moves the objects alive now into a
permanent generation that collections skip; short-lived cycles are still collected as usual.

The cost: a reference cycle that was already garbage but not yet collected when it is frozen
stays in memory. Freezing right after start-up, or once a second in a server whose requests
leave their cycles in the youngest generation, keeps that to a few objects.
"""

from __future__ import annotations

import gc
import logging
import threading

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
