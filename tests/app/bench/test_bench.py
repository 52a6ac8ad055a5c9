"""``fds bench``: the scoring measure, the pipeline run as processes, and the sweep's verdicts."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from app.bench.pipeline import PipelineOptions, PipelineResult, run_pipeline
from app.bench.report import highest_held, render_scaling, scaling_ratio, sweep_held
from app.bench.scoring import measure_scoring, sample_transactions
from app.bench.usage import ProcessUsage
from app.cli import app
from ml.simulator import simulate_transactions

REPO_ROOT = Path(__file__).resolve().parents[3]


def result(rate: float, p99: float, decided: int = 100, throughput: float | None = None):
    return PipelineResult(
        offered_rate_tps=rate,
        seconds=1,
        shards=2,
        consumers=1,
        sent=100,
        decided=decided,
        dead_lettered=0,
        throughput_tps=rate if throughput is None else throughput,
        latency_ms={"p50": p99 / 2, "p95": p99, "p99": p99, "max": p99},
        latency_p99_first_half_ms=p99,
        latency_p99_second_half_ms=p99,
        batch_processing_ms={"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0},
    )


def test_a_sweep_step_holds_only_with_everything_decided_at_rate_within_target() -> None:
    assert sweep_held(result(1000, 90), target_ms=100)
    assert not sweep_held(result(1000, 120), target_ms=100)
    assert not sweep_held(result(1000, 50, decided=90), target_ms=100), "lost transactions"
    assert not sweep_held(result(1000, 50, throughput=800), target_ms=100), "fell behind"
    steps = [result(1000, 40), result(2000, 80), result(3000, 300)]
    assert highest_held(steps, target_ms=100) == 2000
    assert highest_held([result(1000, 300)], target_ms=100) is None


def test_scaling_reports_the_ratio_and_each_runs_cpu() -> None:
    # Given one consumer at 7000 tx/s and two at 6300, measured in one invocation
    one = result(8000, 500, throughput=7000)
    two = dataclasses.replace(result(8000, 250, throughput=6300), consumers=2)
    one.processes.append(ProcessUsage("local AWS", cpu_seconds=18.0, cpu_percent=81.4))
    two.processes.append(ProcessUsage("local AWS", cpu_seconds=20.0, cpu_percent=81.8))

    # When it is reported
    console = Console(record=True, width=200)
    render_scaling(one, two, console)

    # Then the ratio and the server's share of the CPU are printed
    text = console.export_text()
    assert scaling_ratio(one, two) == 0.9
    assert "throughput ratio 2:1 = 0.9" in text
    assert "81.4% of a core" in text and "81.8% of a core" in text


def test_cli_compare_consumers_needs_several(restore_logging) -> None:
    outcome = CliRunner().invoke(app, ["bench", "--compare-consumers", "--consumers", "1"])

    assert outcome.exit_code == 2
    assert "--consumers 2 or more" in " ".join(outcome.output.replace("│", " ").split())


def test_scoring_measure_scores_whole_batches_and_single_transactions(model) -> None:
    measured = measure_scoring(model, batch_size=500, seconds=0.2)
    assert measured.batches >= 3
    assert measured.batch_tps_per_core > 0
    assert 0 < measured.single_ms_p50 <= measured.single_ms_p99


def test_sample_transactions_from_rows_repeat_them_under_unique_ids() -> None:
    # Given three replayed rows and a request for seven transactions
    generated = islice(simulate_transactions(seed=3), 3)
    rows = [dict(row, nameOrig=f"C{i}") for i, row in enumerate(generated)]

    # When they are sampled
    transactions = sample_transactions(7, rows=rows)

    # Then the rows are used in order, repeated, each under its own transaction id
    assert [tx.nameOrig for tx in transactions] == ["C0", "C1", "C2", "C0", "C1", "C2", "C0"]
    assert len({tx.tx_id for tx in transactions}) == 7


def test_sample_transactions_pass_the_stream_schema() -> None:
    transactions = sample_transactions(50)
    assert len({tx.tx_id for tx in transactions}) == 50


@pytest.mark.timeout(240)
def test_pipeline_run_decides_everything_and_measures_each_process() -> None:
    measured = run_pipeline(PipelineOptions(rate=100, seconds=3, shards=2, consumers=2))

    assert measured.sent == 300
    assert measured.decided + measured.dead_lettered == 300
    assert measured.consumers == 2
    assert measured.throughput_tps > 50
    assert measured.latency_ms["p50"] is not None and measured.latency_ms["p50"] > 0
    names = {usage.name for usage in measured.processes}
    assert names == {"local AWS", "consumer 1", "consumer 2", "generator"}
    for usage in measured.processes:
        assert usage.cpu_seconds > 0, usage
        assert usage.rss_peak_mib >= usage.rss_start_mib > 0, usage


def test_cli_refuses_more_consumers_than_shards(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--shards", "2", "--consumers", "3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "1000"},
    )
    assert completed.returncode == 2
    assert "at most as many consumers as shards" in completed.stderr


def test_cli_scoring_writes_its_figures_as_json(tmp_path: Path) -> None:
    out = tmp_path / "scoring.json"
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--scoring", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    figures = json.loads(out.read_text())
    assert figures["batch_tps_per_core"] > 0 and figures["single_ms_p99"] > 0
