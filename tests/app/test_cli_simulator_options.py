"""Tests that ``produce`` and ``demo`` refuse built-in simulator options given with ``--data``."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import DEMO_FRAUD_RATE, DEMO_RETRY_SHARE, DEMO_SEED, app


class _Stop(Exception):
    """Raised by a stand-in to stop a command once it has shown what it was given."""


@pytest.mark.parametrize("command", ["produce", "demo"])
@pytest.mark.parametrize(
    "option", [["--seed", "3"], ["--fraud-rate", "0.1"], ["--retry-share", "0.5"]]
)
def test_simulator_options_with_data_are_usage_errors(
    runner: CliRunner, tmp_path: Path, command: str, option: list[str]
) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("step\n")

    result = runner.invoke(app, [command, "--data", str(data), *option])

    assert result.exit_code == 2, f"{command} {option}: exit {result.exit_code}: {result.output}"
    output = " ".join(result.output.replace("│", " ").split())
    assert f"{option[0]} applies to the built-in simulator, not to --data FILE" in output, output


def test_produce_without_data_passes_the_simulator_options_or_their_defaults(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[dict[str, object]] = []

    def recording(**kwargs: object) -> object:
        given.append(kwargs)
        raise _Stop

    monkeypatch.setattr("ml.simulator.simulate_transactions", recording)

    runner.invoke(app, ["produce"])
    runner.invoke(app, ["produce", "--seed", "3", "--fraud-rate", "0.1", "--retry-share", "0.2"])

    assert given == [
        {"seed": None, "fraud_rate": None, "retry_share": 0.0},
        {"seed": 3, "fraud_rate": 0.1, "retry_share": 0.2},
    ]


def test_demo_without_data_applies_its_own_defaults(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = []

    def recording(options: object, console: object) -> object:
        given.append(options)
        raise _Stop

    monkeypatch.setattr("app.demo.run_demo", recording)
    # The demo installs a SIGTERM handler; keep this test process's own.
    monkeypatch.setattr(signal, "signal", lambda *_: None)

    runner.invoke(app, ["demo"])
    runner.invoke(app, ["demo", "--seed", "0", "--fraud-rate", "0", "--retry-share", "0"])

    defaults, zeros = given
    assert (defaults.seed, defaults.fraud_rate, defaults.retry_share) == (
        DEMO_SEED,
        DEMO_FRAUD_RATE,
        DEMO_RETRY_SHARE,
    )
    assert (zeros.seed, zeros.fraud_rate, zeros.retry_share) == (0, 0.0, 0.0)
