"""Tests for keeping garbage-collection pauses short (``app.pauses``)."""

from __future__ import annotations

import gc
import threading

from app.pauses import freeze_long_lived_objects, keep_freezing


def test_freeze_long_lived_objects_takes_live_objects_out_of_collection() -> None:
    # Given an object alive now
    kept = [object() for _ in range(1000)]
    gc.unfreeze()

    # When the long-lived objects are frozen
    freeze_long_lived_objects()

    # Then at least those are exempt from later collections
    try:
        assert gc.get_freeze_count() >= len(kept), f"{gc.get_freeze_count()} objects frozen"
    finally:
        gc.unfreeze()


def test_keep_freezing_freezes_until_stopped() -> None:
    # Given a freezer that runs every 10 ms
    gc.unfreeze()
    stop = threading.Event()
    thread = keep_freezing(stop, every_seconds=0.01)

    # When it has had time to run, and is then stopped
    try:
        thread.join(0.2)
        frozen = gc.get_freeze_count()
    finally:
        stop.set()
        thread.join(1.0)
        gc.unfreeze()

    # Then it froze what was alive, and ended when told to
    assert frozen > 0, "nothing was frozen"
    assert not thread.is_alive(), "the freezer did not stop"
