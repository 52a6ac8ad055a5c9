"""Tests for ``fds simulate``: writing simulated PaySim CSVs and the fidelity report."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from app.cli import app
from ml.data import read_paysim
from ml.schema import PAYSIM_COLUMNS
from ml.simulator import simulate_frames
from ml.simulator.writer import write_paysim_csv

#: The ``run_fds`` fixture of tests/app/conftest.py.
RunFds = Callable[..., subprocess.CompletedProcess[str]]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The real weighted PaySim sample, next to the repository in ../shared; never committed.
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "paysim" / "paysim_weighted_steps001-400.csv"
#: Settings of the small "real" files built here: enough fraud rows in few rows.
SMALL = ["--rows", "150000", "--fraud-rate", "0.02"]


@pytest.fixture(scope="module")
def small_real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated file standing in for real rows, written with ``SMALL``'s settings.

    Its steps are small, so its rows span many days, as a real file's do.
    """
    path = tmp_path_factory.mktemp("real") / "stand-in.csv"
    frames = simulate_frames(seed=99, rows=150_000, fraud_rate=0.02, rows_per_step=500.0)
    write_paysim_csv(frames, path)
    return path


def test_cli_simulate_same_seed_writes_the_same_readable_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Given two runs with one seed
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (first, second):
        result = runner.invoke(
            app, ["simulate", "--rows", "20000", "--seed", "4", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output

    # Then the files are identical, in PaySim's header, and read back without a bad row
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().splitlines()[0] == ",".join(PAYSIM_COLUMNS)
    data = read_paysim(first)
    assert data.bad_row_count == 0 and len(data.frame) == 20_000


def test_cli_simulate_reports_speed_and_memory(run_fds: RunFds, tmp_path: Path) -> None:
    result = run_fds("simulate", "--rows", "1000", "--seed", "1", "--out", str(tmp_path / "s.csv"))

    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "simulated 1,000 rows (seed 1)" in said and "rows/s" in said, said
    assert "peak memory" in said, said


def test_cli_simulate_fraud_rate_is_taken(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "fraudy.csv"
    result = runner.invoke(
        app,
        ["simulate", "--rows", "30000", "--seed", "2", "--fraud-rate", "0.3", "--out", str(out)],
    )

    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["isFraud"].mean() > 0.2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "give --out FILE.csv to write rows, or --compare REAL.csv"),
        (["--out", "{tmp}/x.csv"], "give --rows N with --out"),
        (["--rows", "10", "--out", "{tmp}/x.csv", "--weights", "w"], "give --compare"),
        (["--rows", "10", "--out", "{tmp}/x.csv", "--fraud-rate", "2"], "is not a share"),
        (["--rows", "10", "--out", "{tmp}/x.csv", "--fraud-rate", "nan"], "is not a share"),
        (["--rows", "0", "--out", "{tmp}/x.csv"], "--rows"),
        (["--rows", "10", "--out", "{tmp}"], "is a directory"),
        (["--compare", "{tmp}/missing.csv"], "is not a file"),
        (["--rows", "10", "--out", "{tmp}/x.csv", "--rows-per-step", "0"], "is not a number"),
    ],
)
def test_cli_simulate_bad_arguments_are_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str], said: str
) -> None:
    result = runner.invoke(app, ["simulate", *[a.format(tmp=tmp_path) for a in args]])

    assert result.exit_code == 2, f"{args}: exit {result.exit_code}: {result.output}"
    output = " ".join(result.output.replace("│", " ").split())
    assert said in output, f"{args}: unclear message: {output}"
    assert not (tmp_path / "x.csv").exists(), "nothing should be written on a usage error"


def test_cli_simulate_compare_passes_against_rows_of_the_same_kind(
    run_fds: RunFds, small_real: Path
) -> None:
    result = run_fds("simulate", "--compare", str(small_real), "--seed", "5", *SMALL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert "KS distance of log-amount, TRANSFER" in result.stdout


def test_cli_simulate_compare_fails_on_a_distorted_file(
    run_fds: RunFds, small_real: Path, tmp_path: Path
) -> None:
    # Given the stand-in file with its CASH_OUT amounts multiplied by ten
    frame = pd.read_csv(small_real)
    cash_out = frame["type"] == "CASH_OUT"
    frame.loc[cash_out, "amount"] = (frame.loc[cash_out, "amount"] * 10).round(2)
    distorted = tmp_path / "distorted.csv"
    frame.to_csv(distorted, index=False)

    # When the simulator is compared with it
    result = run_fds("simulate", "--compare", str(distorted), "--seed", "5", *SMALL)

    # Then the report shows the failing figure and the command exits 1 with one clear line
    assert result.returncode == 1, result.stdout + result.stderr
    failing = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert any("KS distance of log-amount, CASH_OUT" in line for line in failing), result.stdout
    assert "out of tolerance" in result.stderr and "Traceback" not in result.stderr


def test_cli_simulate_compare_can_also_write_the_rows_it_compared(
    run_fds: RunFds, small_real: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compared.csv"
    result = run_fds(
        "simulate", "--compare", str(small_real), "--seed", "5", *SMALL, "--out", str(out)
    )

    assert result.returncode == 0, result.stderr
    assert len(read_paysim(out).frame) == 150_000


def test_cli_simulate_compare_with_a_missing_weights_column_is_one_line(
    run_fds: RunFds, small_real: Path
) -> None:
    result = run_fds("simulate", "--compare", str(small_real), "--weights", "nope", *SMALL)

    assert result.returncode == 1, result.stderr
    assert "nope" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.real_data
def test_cli_simulate_compare_passes_against_the_real_weighted_rows(run_fds: RunFds) -> None:
    if not REAL_DATA.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_DATA} (shared/ next to the repository)")

    result = run_fds(
        "simulate", "--compare", str(REAL_DATA), "--weights", "sample_weight", "--seed", "1"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout, result.stdout
    assert "simulated 5,000,000 rows" in " ".join(result.stderr.split())


def test_cli_simulate_creates_missing_folders_above_out(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "folder" / "sim.csv"

    result = runner.invoke(app, ["simulate", "--rows", "100", "--seed", "1", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert len(read_paysim(out).frame) == 100


def test_cli_simulate_compare_creates_missing_folders_above_out(
    run_fds: RunFds, small_real: Path, tmp_path: Path
) -> None:
    out = tmp_path / "missing" / "compared.csv"

    result = run_fds(
        "simulate", "--compare", str(small_real), "--seed", "5", *SMALL, "--out", str(out)
    )

    assert result.returncode == 0, result.stderr
    assert len(read_paysim(out).frame) == 150_000


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_cli_simulate_a_full_disk_is_one_line_naming_the_path(run_fds: RunFds) -> None:
    result = run_fds("simulate", "--rows", "100000", "--seed", "1", "--out", "/dev/full")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "/dev/full" in lines[0] and "No space left on device" in lines[0]
    assert "choose another --out" in lines[0]


def test_cli_simulate_a_failed_write_leaves_the_old_file_and_no_partial_one(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file already there, and a disk that fills up after the first rows
    out = tmp_path / "sim.csv"
    out.write_text("old contents\n")
    real_to_csv = pd.DataFrame.to_csv
    calls = {"n": 0}

    def filling_up(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(28, "No space left on device")
        return real_to_csv(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(pd.DataFrame, "to_csv", filling_up)

    # When the simulator writes over it
    result = runner.invoke(app, ["simulate", "--rows", "100000", "--seed", "1", "--out", str(out)])

    # Then the command fails with a clear error, the old file is intact and nothing else is left
    assert calls["n"] > 1, "the write should have reached the second chunk"
    assert result.exit_code == 1 and "No space left on device" in str(result.exception)
    assert str(out) in str(result.exception)
    assert out.read_text() == "old contents\n"
    assert [path.name for path in tmp_path.iterdir()] == ["sim.csv"]
