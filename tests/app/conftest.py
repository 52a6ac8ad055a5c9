"""Factories shared by the app's tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.consumer.decisions import Decision, Verdict

REPO_ROOT = Path(__file__).resolve().parents[2]
RunFds = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def runner(restore_logging) -> CliRunner:
    """The CLI run in this process; ``restore_logging`` undoes the logging it sets up."""
    return CliRunner()


@pytest.fixture
def run_fds() -> RunFds:
    """``fds ARGS`` as a child process, so ``main()`` turns errors into one line as it does for
    a user. The child sees only ``env`` (nothing of this shell's AWS settings) and wide columns,
    so rich never wraps a path in its messages."""

    def run(
        *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=REPO_ROOT,
            env={"COLUMNS": "1000", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


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
