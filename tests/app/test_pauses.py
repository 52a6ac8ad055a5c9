"""Tests for keeping garbage-collection pauses short and for retry backoff (``app.pauses``)."""

from __future__ import annotations

import gc
import random
import threading

import pytest

from app.pauses import backoff_seconds, freeze_long_lived_objects, keep_freezing

BASE, CAP = 0.05, 2.0
DRAWS = 500


def ceiling(attempt: int) -> float:
    """The longest pause full jitter may choose before retry ``attempt``."""
    return min(CAP, BASE * 2**attempt)


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


def test_backoff_seconds_stays_between_zero_and_the_capped_doubling() -> None:
    # Given a seeded generator
    rng = random.Random(11)

    # When many pauses are drawn for each of the first twelve retries
    drawn = {
        attempt: [backoff_seconds(attempt, BASE, CAP, rng) for _ in range(DRAWS)]
        for attempt in range(12)
    }

    # Then none is negative or above min(cap, base * 2**attempt)
    for attempt, pauses in drawn.items():
        assert min(pauses) >= 0.0 and max(pauses) <= ceiling(attempt), (
            f"retry {attempt}: pauses from {min(pauses)} to {max(pauses)}, "
            f"allowed 0 to {ceiling(attempt)}"
        )


def test_backoff_seconds_range_doubles_until_the_cap() -> None:
    # Given a seeded generator
    rng = random.Random(12)

    # When many pauses are drawn for each retry
    longest = [max(backoff_seconds(a, BASE, CAP, rng) for _ in range(DRAWS)) for a in range(10)]

    # Then the longest pause nears 50 ms, 100 ms, 200 ms ... and then stays at the cap
    for attempt, pause in enumerate(longest):
        assert pause >= 0.95 * ceiling(attempt), (
            f"retry {attempt}: longest of {DRAWS} pauses {pause:.3f}s, expected near "
            f"{ceiling(attempt):.3f}s"
        )
    assert longest[9] <= CAP < BASE * 2**9, f"the cap was not applied: {longest[9]}"


def test_backoff_seconds_uses_the_whole_range() -> None:
    # Given a seeded generator
    rng = random.Random(13)

    # When twenty pauses are drawn for the same retry
    pauses = [backoff_seconds(5, BASE, CAP, rng) for _ in range(20)]

    # Then they differ, and some fall in the lower half: full jitter, not +-50 % around the
    # doubling, which would still bring clients back in a bunch
    assert len(set(pauses)) == len(pauses), f"repeated pauses: {pauses}"
    assert min(pauses) < ceiling(5) / 2, f"no pause below half the range: {pauses}"


def test_backoff_seconds_repeats_with_the_same_seed() -> None:
    first = [backoff_seconds(a, BASE, CAP, random.Random(3)) for a in range(5)]
    second = [backoff_seconds(a, BASE, CAP, random.Random(3)) for a in range(5)]

    assert first == second, f"same seed, different pauses: {first} != {second}"


def test_backoff_seconds_after_thousands_of_retries_is_the_cap() -> None:
    # Given a retry loop that has run far past where 2**attempt overflows a float
    # When the next pause is drawn, Then it is within the cap, not an OverflowError
    pause = backoff_seconds(5000, BASE, CAP, random.Random(4))

    assert 0.0 <= pause <= CAP, f"pause {pause} after 5000 retries"


@pytest.mark.parametrize(
    ("attempt", "base", "cap"), [(-1, BASE, CAP), (0, -BASE, CAP), (0, BASE, -CAP)]
)
def test_backoff_seconds_refuses_negative_arguments(attempt: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        backoff_seconds(attempt, base, cap)
