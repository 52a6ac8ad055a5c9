"""Factories shared by the app's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from app.consumer.decisions import Decision, Verdict


@pytest.fixture
def make_decision() -> Callable[..., Decision]:
    """A fraud decision for account C1, with any field overridden."""

    def factory(**overrides: object) -> Decision:
        decision = Decision(
            tx_id="tx-1",
            account="C1",
            recipient="C2",
            amount=18498.8,
            type="TRANSFER",
            step=4,
            verdict=Verdict.FRAUD,
            score=0.987654,
            threshold=0.1,
            model_version="cb-test",
            shard_id="shardId-000000000000",
            sequence_number="42",
            label=1,
            sent_at=1.0,
            received_at=2.0,
            decided_at=1_700_000_000.1234,
        )
        return replace(decision, **overrides)  # type: ignore[arg-type]

    return factory
