"""Tests for the ``fds`` command line (``app.cli``).

Quick commands run in-process through typer's CliRunner; the ones whose exit path or child
process matters (``main()`` turning errors into one line, ``demo`` starting the local AWS as a
subprocess) run as ``python -m app.cli`` from the repository root.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from ml.errors import DataFormatError

#: The ``run_fds`` fixture of tests/app/conftest.py.
RunFds = Callable[..., subprocess.CompletedProcess[str]]

REPO_ROOT = Path(__file__).resolve().parents[2]
EVALUATE_KEYS = {"rows", "auprc", "roc_auc", "precision", "recall", "threshold"}
SUMMARY_KEYS = {
    "transactions",
    "decisions",
    "fraud_detected",
    "true_positives",
    "false_positives",
    "false_negatives",
    "blocked_refusals",
    "alerts_delivered",
    "throughput_tps",
    "latency_ms",
}


def test_cli_train_with_a_missing_data_file_fails_naming_it(
    run_fds: RunFds, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-paysim.csv"

    result = run_fds("train", "--data", str(missing), "--out", str(tmp_path / "model"))

    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr}"
    assert str(missing) in result.stderr, f"stderr does not name the file: {result.stderr}"
    assert "Traceback" not in result.stderr, "an expected error must be one line, not a trace"
    assert not (tmp_path / "model").exists()


def test_cli_evaluate_json_prints_one_object(runner: CliRunner, synthetic_csv) -> None:
    # Given a small labelled CSV
    csv = synthetic_csv(1000, seed=41, fraud_rate=0.05)

    # When it is evaluated with --json
    result = runner.invoke(app, ["evaluate", "--data", str(csv), "--json"])

    # Then stdout is one JSON object with the metrics
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one line of JSON, got {result.stdout!r}"
    report = json.loads(lines[0])
    assert set(report) >= EVALUATE_KEYS, f"missing {EVALUATE_KEYS - set(report)}"
    assert report["rows"] == 1000


def test_cli_evaluate_with_weights_and_steps(runner: CliRunner, synthetic_csv) -> None:
    csv = synthetic_csv(1500, seed=42, fraud_rate=0.05, weight=lambda row: 2.0)

    result = runner.invoke(
        app,
        ["evaluate", "--data", str(csv), "--json", "--weights", "sample_weight", "--steps", "2-3"],
    )

    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    report = json.loads(result.stdout)
    steps = [int(line.split(",", 1)[0]) for line in csv.read_text().splitlines()[1:]]
    in_range = sum(2 <= step <= 3 for step in steps)
    assert 0 < in_range < len(steps), f"steps 2-3 hold {in_range} of {len(steps)} rows"
    assert report["rows"] == in_range and report["weighted"] is True, report


def test_cli_evaluate_with_a_bad_step_range_fails(runner: CliRunner, synthetic_csv) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(synthetic_csv(10)), "--steps", "9-1"])

    assert result.exit_code != 0
    assert isinstance(result.exception, DataFormatError), repr(result.exception)
    assert "9-1" in str(result.exception)


@pytest.mark.parametrize(
    ("command", "option"), [("demo", "--rate"), ("produce", "--rate"), ("bench", "--seconds")]
)
@pytest.mark.parametrize("value", ["0", "-5", "200000", "nan", "inf"])
def test_cli_a_rate_or_duration_out_of_range_is_a_usage_error(
    runner: CliRunner, command: str, option: str, value: str
) -> None:
    # A --limit keeps the demo and the generator short should the value be taken.
    limit = [] if command == "bench" else ["--limit", "10"]
    result = runner.invoke(app, [command, option, value, *limit])

    assert result.exit_code == 2, f"{option} {value}: exit {result.exit_code}: {result.output}"
    said = " ".join(result.output.replace("│", " ").split())
    assert option in said and "is not a number from" in said, f"unclear: {said}"


def test_cli_demo_runs_the_pipeline_and_writes_the_summary(run_fds: RunFds, tmp_path: Path) -> None:
    # Given an output path for the summary
    out = tmp_path / "out" / "summary.json"

    # When the demo runs 200 generated transactions through the local pipeline
    result = run_fds(
        "demo", "--limit", "200", "--rate", "200", "--summary-json", str(out), "--quiet"
    )

    # Then it succeeds and every transaction is accounted for
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"
    assert "FRAUD DETECTED" not in result.stdout, "--quiet must hide the decision lines"
    summary = json.loads(out.read_text())
    assert set(summary) >= SUMMARY_KEYS, f"summary lacks {SUMMARY_KEYS - set(summary)}"
    assert summary["transactions"] == 200, summary
    assert summary["decisions"] == summary["transactions"], summary
    assert summary["fraud_detected"] > 0, summary
    assert summary["alerts_delivered"] == summary["fraud_detected"], summary
    assert summary["true_positives"] + summary["false_positives"] == summary["fraud_detected"]
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99", "max"}, summary["latency_ms"]
    assert all(value is not None for value in summary["latency_ms"].values()), summary
    assert summary["throughput_tps"] > 0, summary


def test_cli_blocklist_list_with_a_bad_endpoint_port_is_one_line(
    run_fds: RunFds, tmp_path: Path
) -> None:
    # Given AWS_ENDPOINT_URL with a port that is not a number
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:notaport"}

    # When a command that reaches AWS runs
    result = run_fds("blocklist", "list", env=env, timeout=60)

    # Then it fails with one line naming the bad port and the fix, not a traceback
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr, f"expected one line, got a trace: {result.stderr}"
    assert "invalid port" in result.stderr, f"the port should be named: {result.stderr}"
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4566" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command", [["produce", "--limit", "1"], ["demo", "--limit", "10"], ["decisions", "export"]]
)
def test_cli_a_bad_fds_variable_is_one_line_naming_it(run_fds: RunFds, command: list[str]) -> None:
    # Given an FDS_* variable that is not a number where a port is expected
    env = {"FDS_METRICS_PORT": "abc"}

    # When a command that reads the settings runs
    result = run_fds(*command, env=env, timeout=60)

    # Then it fails at once with one line naming the variable, its value and what it expects
    assert result.returncode == 1, f"{command}: exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr, f"expected one line, got a trace: {result.stderr}"
    assert "FDS_METRICS_PORT='abc'" in result.stderr, f"variable not named: {result.stderr}"
    assert "valid integer" in result.stderr, f"expectation not said: {result.stderr}"


@pytest.mark.parametrize("command", ["produce", "demo"])
@pytest.mark.parametrize("limit", ["0", "99999999999999999999999"])
def test_cli_limit_out_of_range_is_a_usage_error(
    runner: CliRunner, command: str, limit: str
) -> None:
    # Given a --limit below 1 or beyond any run (and beyond what islice takes)
    # When the command starts
    result = runner.invoke(app, [command, "--limit", limit])

    # Then it is refused as a usage error naming the option, before any work
    assert result.exit_code == 2, (
        f"{command} --limit {limit}: exit {result.exit_code}: {result.output}{result.exception!r}"
    )
    assert "--limit" in result.output, f"the option should be named: {result.output}"


def _unwritable_paths(tmp_path: Path) -> dict[str, Path]:
    """Paths no write can create, even as root: under /proc, and under a regular file."""
    regular_file = tmp_path / "file.txt"
    regular_file.write_text("not a directory\n")
    return {"proc": Path("/proc/fds-test-output"), "under-a-file": regular_file / "output"}


#: Command, its output option, and the function that does its work (made to fail if called).
OUTPUT_COMMANDS = [
    (["train", "--data", "{csv}"], "--out", "ml.train.train_model"),
    (["produce", "--limit", "1"], "--report-json", "app.producer.StreamProducer.run"),
    (["demo", "--limit", "10"], "--summary-json", "app.demo.run_demo"),
    (["bench"], "--json", "app.bench.pipeline.run_pipeline"),
    (["bench", "--scoring"], "--json", "app.bench.scoring.measure_scoring"),
    (["consume"], "--stats-json", "app.consumer.consumer.Consumer"),
    (["decisions", "export"], "--out", "app.operations.audit.export_decisions"),
    (["alerts", "export"], "--out", "app.operations.audit.export_alerts"),
]


@pytest.mark.parametrize("where", ["proc", "under-a-file"])
@pytest.mark.parametrize(
    ("command", "option", "work"), OUTPUT_COMMANDS, ids=[" ".join(c[0]) for c in OUTPUT_COMMANDS]
)
def test_cli_an_unwritable_output_path_is_refused_before_any_work(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    synthetic_csv,
    command: list[str],
    option: str,
    work: str,
    where: str,
) -> None:
    # Given an output path that cannot be written, and a command whose work must not start
    csv = synthetic_csv(10)
    out = _unwritable_paths(tmp_path)[where] / "result.json"

    def started(*_: object, **__: object) -> None:
        raise AssertionError(f"{work} ran before {option} {out} was checked")

    monkeypatch.setattr(work, started)
    args = [arg.format(csv=csv) for arg in command] + [option, str(out)]

    # When the command runs
    result = runner.invoke(app, args)

    # Then it is a usage error naming the option and the path, and nothing was done
    assert result.exit_code == 2, (
        f"{' '.join(args)}: exit {result.exit_code}: {result.output} {result.exception!r}"
    )
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # the panel unwrapped
    assert option in said, f"the option should be named: {said}"
    assert "cannot" in said and "choose a path" in said, (
        f"the error should say what is wrong and what to do: {said}"
    )


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"FDS_DECISIONS_BUCKET_NAME": "Bad_Bucket!"}, "A name in use is not one AWS accepts"),
        ({"FDS_ENVIRONMENT": "dev"}, "The names in use (dev environment) are"),
    ],
    ids=["bucket-name-aws-refuses", "resources-of-another-environment"],
)
def test_cli_a_name_aws_refuses_or_lacks_is_one_line_saying_which(
    run_fds: RunFds, local_aws_env, variables: dict[str, str], said: str
) -> None:
    # Given the local AWS, and settings naming resources it refuses or does not have
    env = {"AWS_ENDPOINT_URL": local_aws_env.endpoint_url, **variables}

    # When the operators' export runs
    result = run_fds("decisions", "export", env=env, timeout=60)

    # Then it fails with one message saying what is wrong and how to fix it, not a traceback
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr, f"expected one message, got a trace: {result.stderr}"
    assert said in result.stderr, result.stderr
    assert "FDS_" in result.stderr, f"the settings to fix should be named: {result.stderr}"


def test_cli_consume_in_fan_out_mode_against_the_local_aws_says_it_cannot(run_fds: RunFds) -> None:
    # Given fan-out reading asked for, against a local AWS (which serves no SubscribeToShard)
    env = {"FDS_READ_MODE": "fan-out", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}

    # When the consumer starts, Then it stops at once saying what to set instead
    result = run_fds("consume", env=env, timeout=60)

    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr}"
    assert "set FDS_READ_MODE=polling" in result.stderr, result.stderr


@pytest.mark.parametrize("other", [["--sweep"], ["--compare-consumers", "--consumers", "2"]])
def test_cli_bench_scoring_refuses_options_of_the_pipeline(
    runner: CliRunner, other: list[str]
) -> None:
    result = runner.invoke(app, ["bench", "--scoring", *other])

    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}"
    assert "measures the model alone" in " ".join(result.output.replace("│", " ").split())
