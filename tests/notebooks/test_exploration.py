"""The exploratory notebook runs end to end, on a small input, and writes every figure.

Each test executes ``notebooks/paysim_exploration.py`` (a jupytext text notebook) in a fresh
Python kernel, pointed at its input and at a temporary figures folder by the environment
variables the notebook reads, so the committed figures in ``notebooks/figures/`` are never
touched.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
NOTEBOOK = REPOSITORY / "notebooks" / "paysim_exploration.py"
REAL_DATA = REPOSITORY.parent / "shared" / "data" / "paysim" / "paysim_weighted_steps001-400.csv"

#: Every figure the notebook saves, as named in notebooks/README.md.
FIGURES = (
    "01_class_imbalance",
    "02_type_mix",
    "03_amount_per_type",
    "04_hour_of_day",
    "05_daily_volume",
    "06_fraud_mechanics",
    "07_legit_balance_quirks",
    "08_post_balance_leak",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KERNEL = "fds-tests-python"


def run_notebook(monkeypatch: pytest.MonkeyPatch, figures: Path, **settings: str) -> str:
    """Execute the notebook with ``FDS_NOTEBOOK_*`` settings; return everything it printed."""
    monkeypatch.setenv("FDS_NOTEBOOK_FIGURES", str(figures))
    for name, value in settings.items():
        monkeypatch.setenv(f"FDS_NOTEBOOK_{name.upper()}", value)
    # A kernel spec of our own, first on JUPYTER_PATH, runs the kernel with this interpreter,
    # so it imports this checkout's packages whatever kernels the machine has registered.
    # The kernel inherits this process's environment, so it sees the settings above.
    jupyter_path = figures.parent / "jupyter"
    spec = jupyter_path / "kernels" / KERNEL / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))

    # The kernel is driven from a child process: nbclient leaves this process's asyncio event
    # loop set up its own way, and the Pulumi tests that run later in the same session fail
    # on it ("await wasn't used with future").
    executed = figures.parent / "executed.ipynb"
    run = subprocess.run(
        [sys.executable, "-c", _EXECUTE, str(NOTEBOOK), str(executed), KERNEL],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if run.returncode != 0:
        raise NotebookFailed(run.stderr[-4000:])
    notebook = nbformat.read(executed, as_version=4)
    return "".join(
        str(output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


class NotebookFailed(Exception):
    """A cell raised: the message ends with the child's report of the failing cell."""


#: Run in the child: execute the text notebook in the named kernel and save the result.
_EXECUTE = """
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

source, target, kernel = sys.argv[1:4]
notebook = jupytext.read(source)
client = NotebookClient(
    notebook, timeout=120, kernel_name=kernel,
    resources={"metadata": {"path": str(Path(source).parent)}},
)
client.execute()
nbformat.write(notebook, target)
"""


def percents(printed: str, label: str) -> list[float]:
    """The percentages on the one printed line that starts with ``label``."""
    lines = [line for line in printed.splitlines() if line.startswith(label)]
    assert len(lines) == 1, f"expected one line starting with {label!r}, found {lines}"
    return [float(value) for value in re.findall(r"([0-9.]+) %", lines[0])]


def assert_figures_written(folder: Path) -> None:
    written = sorted(path.stem for path in folder.glob("*.png"))
    assert written == sorted(FIGURES), f"figures in {folder}: {written}"
    for name in FIGURES:
        content = (folder / f"{name}.png").read_bytes()
        assert content.startswith(PNG_SIGNATURE), f"{name}.png is not a PNG file"
        assert len(content) > 5_000, f"{name}.png has only {len(content)} bytes: an empty plot?"


def legit_weighs_twenty(row: dict[str, Any]) -> float:
    return 1.0 if row["isFraud"] else 20.0


def test_exploration_notebook_runs_on_a_small_weighted_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic_csv: Callable[..., Path]
) -> None:
    # Given 3,000 generated rows whose legit rows carry a sample weight of 20
    data = synthetic_csv(rows=3000, fraud_rate=0.05, weight=legit_weighs_twenty)

    # When the notebook is run on them
    printed = run_notebook(monkeypatch, tmp_path / "figures", data=str(data))

    # Then it read that file with its weights and wrote every figure
    assert f"data: {data}" in printed, printed[:500]
    assert "weights: sample_weight" in printed, printed[:500]
    assert "rows: 3,000" in printed, printed[:500]
    assert_figures_written(tmp_path / "figures")


def test_exploration_notebook_generates_its_own_rows_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no data file, only the request for 2,000 generated rows
    # When the notebook is run
    printed = run_notebook(monkeypatch, tmp_path / "figures", data="generated", rows="2000")

    # Then it generated and read exactly that many, unweighted, and wrote every figure
    assert "generating 2,000 rows with " in printed, printed[:500]
    assert "data: generated rows" in printed, printed[:500]
    assert "weights: none" in printed, printed[:500]
    assert "rows: 2,000" in printed, printed[:500]
    assert_figures_written(tmp_path / "figures")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"data": "{tmp}/missing.csv"}, "is not a file: give a PaySim CSV"),
        ({"data": "generated", "rows": "many"}, "is not a number of rows: give a whole number"),
    ],
    ids=["missing-data-file", "rows-not-a-number"],
)
def test_exploration_notebook_refuses_a_bad_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], message: str
) -> None:
    # Given a data file that does not exist, or a number of rows that is not one
    given = {name: value.format(tmp=tmp_path) for name, value in settings.items()}

    # When the notebook is run, then it stops with a message naming the setting and the way
    # out, rather than quietly falling back to other data
    with pytest.raises(NotebookFailed, match=message):
        run_notebook(monkeypatch, tmp_path / "figures", **given)
    assert not list((tmp_path / "figures").glob("*.png")), "no figure may come from other data"


@pytest.mark.real_data
def test_exploration_notebook_runs_on_the_real_weighted_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not REAL_DATA.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_DATA} (shared/ next to the repository)")

    # Given the real weighted sample of steps 1-400 (the notebook's default input)
    # When the notebook is run without a data setting
    printed = run_notebook(monkeypatch, tmp_path / "figures")

    # Then it read the real rows with their weights, and found what its prose says
    assert f"data: {REAL_DATA}" in printed, printed[:500]
    assert "weights: sample_weight" in printed, printed[:500]
    assert "rows: 35,383" in printed, printed[:500]
    # (the balance-error rule separates perfectly, and drains_sender does as well without it)
    assert percents(printed, "... and the balance after is 0 (leaks)") == [97.95, 100.0]
    assert percents(printed, "drains_sender, from the balance before (fair)") == [97.95, 100.0]
    assert percents(printed, "fraud TRANSFERs with a fraud CASH_OUT of that amount") == [99.55]
    assert_figures_written(tmp_path / "figures")
