"""``fds simulate``: write simulated PaySim rows, or compare them with real ones.

The command is registered in ``app.cli``; it lives here so the simulator's options, figures and
report table stay together.
"""

from __future__ import annotations

import logging
import math
import resource
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.errors import FdsError
from app.logs import configure_logging
from app.outputs import check_output_file

if TYPE_CHECKING:
    from ml.simulator.fidelity import Tally

logger = logging.getLogger(__name__)

console = Console()
err_console = Console(stderr=True)

#: Rows simulated for a fidelity report by default: enough that the simulated side's sampling
#: noise (about 3,900 fraud rows at PaySim's rate) is no larger than the real file's.
COMPARE_ROWS: Final = 5_000_000
MAX_ROWS: Final = 10_000_000_000


def _fraud_rate(value: float | None) -> float | None:
    from ml.simulator.stream import MAX_FRAUD_RATE

    if value is not None and not (math.isfinite(value) and 0.0 <= value <= MAX_FRAUD_RATE):
        raise typer.BadParameter(f"{value} is not a share from 0 to {MAX_FRAUD_RATE:g}")
    return value


def _rows_per_step(value: float | None) -> float | None:
    from ml.simulator.stream import MAX_ROWS_PER_STEP, MIN_ROWS_PER_STEP

    if value is not None and not (
        math.isfinite(value) and MIN_ROWS_PER_STEP <= value <= MAX_ROWS_PER_STEP
    ):
        raise typer.BadParameter(
            f"{value} is not a number from {MIN_ROWS_PER_STEP:g} to {MAX_ROWS_PER_STEP:g}"
        )
    return value


def simulate(
    rows: Annotated[
        int | None,
        typer.Option(
            "--rows",
            min=1,
            max=MAX_ROWS,
            help=f"Rows to simulate (needed with --out alone; {COMPARE_ROWS:,} with --compare).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", min=0, help="Seed: the same seed writes the same file (random without)."
        ),
    ] = None,
    fraud_rate: Annotated[
        float | None,
        typer.Option(
            "--fraud-rate",
            callback=_fraud_rate,
            help="Share of fraud rows over PaySim's 400-step cycle (PaySim's 0.00077 without).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="PaySim CSV to write the simulated rows to.")
    ] = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            help="A real PaySim CSV: print how closely the simulated rows match it, and exit 1 "
            "when a figure is out of its tolerance.",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="With --compare: the real file's column of sample weights."),
    ] = None,
    rows_per_step: Annotated[
        float | None,
        typer.Option(
            "--rows-per-step",
            callback=_rows_per_step,
            help="Mean legit rows per simulated hour (PaySim's 14,451 without; with --compare, "
            "set so that the rows cover the real file's steps).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log lifecycle events too.")
    ] = False,
) -> None:
    """Simulate PaySim transactions into a CSV, or compare simulated rows with real ones."""
    from ml.simulator import simulate_frames

    configure_logging(verbose)
    if compare_with is None and out is None:
        raise typer.BadParameter("give --out FILE.csv to write rows, or --compare REAL.csv")
    if compare_with is None and weights is not None:
        raise typer.BadParameter("--weights names a column of the --compare file; give --compare")
    if compare_with is None and rows is None:
        raise typer.BadParameter("how many rows? give --rows N with --out", param_hint="--rows")
    if out is not None:
        check_output_file(out, "--out")
    if compare_with is not None and not compare_with.is_file():
        raise typer.BadParameter(f"{compare_with} is not a file", param_hint="--compare")
    if compare_with is not None and out is not None and out.resolve() == compare_with.resolve():
        raise typer.BadParameter("--out would overwrite the --compare file", param_hint="--out")

    seed = secrets.randbelow(2**32) if seed is None else seed
    count = rows if rows is not None else COMPARE_ROWS
    real = _read_real(compare_with, weights) if compare_with is not None else None
    if real is not None and rows_per_step is None:
        rows_per_step = _covering_rows_per_step(count, real.last_step, fraud_rate)

    frames = simulate_frames(
        seed=seed, fraud_rate=fraud_rate, rows=count, rows_per_step=rows_per_step
    )
    started = time.perf_counter()
    simulated: Tally | None = None
    if real is not None:
        from ml.simulator.fidelity import Tally

        simulated = Tally()
        frames = _tallied(frames, simulated)
    written = _write(frames, out) if out is not None else sum(len(frame) for frame in frames)
    seconds = time.perf_counter() - started

    where = f" to {escape(str(out))}" if out is not None else ""
    err_console.print(
        f"simulated {written:,} rows (seed {seed}){where} in {seconds:.1f} s: "
        f"{written / max(seconds, 1e-9):,.0f} rows/s, peak memory {_peak_mib():,.0f} MiB"
    )
    if real is not None and simulated is not None and compare_with is not None:
        _report(simulated, real, compare_with)


def _write(frames: Iterator[pd.DataFrame], out: Path) -> int:
    """Write ``frames`` to ``out``, creating missing folders above it, as other commands do.

    Raises:
        FdsError: a folder cannot be created or the file cannot be written (a full disk, for
            example); the writer has then removed its partial file, so ``out`` is untouched.
    """
    from ml.simulator.writer import write_paysim_csv

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return write_paysim_csv(frames, out)
    except OSError as error:
        reason = error.strerror or str(error)
        # A device or pipe is written to directly; any other file only appears once complete.
        left = "" if out.exists() and not out.is_file() else f"; {out} was left as it was"
        raise FdsError(
            f"cannot write {out} ({reason}){left}. Free space on its disk, or choose another "
            "--out in a directory you can write to, and run again"
        ) from error


def _read_real(path: Path, weights: str | None) -> Tally:
    from ml.data import read_paysim
    from ml.simulator.fidelity import Tally

    data = read_paysim(path, weights_column=weights)
    tally = Tally()
    tally.add(data.frame, data.weights)
    return tally


def _covering_rows_per_step(rows: int, last_step: int, fraud_rate: float | None) -> float:
    """Legit rows per step such that ``rows`` rows cover steps 1 to ``last_step``, as real ones."""
    from ml.simulator import PAYSIM_FRAUD_RATE
    from ml.simulator.stream import MAX_ROWS_PER_STEP, MIN_ROWS_PER_STEP
    from ml.simulator.traffic import volume_weight

    legit = rows * (1.0 - (PAYSIM_FRAUD_RATE if fraud_rate is None else fraud_rate))
    weight = sum(volume_weight(step) for step in range(1, last_step + 1))
    return min(max(legit / max(weight, 1e-9), MIN_ROWS_PER_STEP), MAX_ROWS_PER_STEP)


def _tallied(frames: Iterator[pd.DataFrame], tally: Tally) -> Iterator[pd.DataFrame]:
    for frame in frames:
        tally.add(frame)
        yield frame


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux: the process's peak resident memory so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(simulated: Tally, real: Tally, source: Path) -> None:
    from ml.simulator.fidelity import compare

    report = compare(simulated, real)
    table = Table(title=f"Simulated {report.simulated_rows:,} rows against {source.name}")
    table.add_column("figure")
    table.add_column("simulated", justify="right")
    table.add_column("real", justify="right")
    table.add_column("tolerance", justify="right")
    table.add_column("result")
    for figure in report.figures:
        table.add_row(
            figure.name,
            _shown(figure.simulated, figure.unit),
            ""
            if figure.name.startswith(("KS", "legit hourly", "fraud hourly"))
            else _shown(figure.real, figure.unit),
            figure.tolerance,
            "[green]pass[/green]" if figure.passed else "[red]FAIL[/red]",
        )
    console.print(table)
    if not report.passed:
        names = ", ".join(figure.name for figure in report.failures)
        raise FdsError(f"{len(report.failures)} figure(s) out of tolerance: {names}")


def _shown(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{value:.3f} %"
    if unit == "points":
        return f"{value:.2f}"
    return f"{value:.4f}" if value != int(value) else f"{int(value)}"
