"""The ``fds`` command line."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.errors import FdsError
from app.logs import configure_logging
from app.operations.cli import alerts_app, blocklist_app, decisions_app
from app.outputs import check_output_directory, check_output_file
from app.settings import DEFAULT_LOCAL_PORT, ENDPOINT_ENV, load_settings
from app.simulate import simulate
from ml.errors import MlError
from ml.metrics import BOOTSTRAP_RESAMPLES, MIN_BOOTSTRAP_RESAMPLES
from ml.threshold import DEFAULT_FREEZE_COST

if TYPE_CHECKING:
    from ml.data import PaysimData
    from ml.train import TrainingOptions

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="FDS: real-time fraud detection on a Kinesis stream of PaySim transactions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(help="The embedded local AWS.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(blocklist_app, name="blocklist")
app.add_typer(decisions_app, name="decisions")
app.add_typer(alerts_app, name="alerts")
app.command("simulate")(simulate)

console = Console()
err_console = Console(stderr=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log lifecycle events too.")]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="A PaySim CSV to replay; the built-in simulator without it."),
]


def _within(low: float, high: float) -> Callable[[float], float]:
    """A check of a float option's range that also refuses NaN, which every comparison lets by."""

    def check(value: float) -> float:
        if not (math.isfinite(value) and low <= value <= high):
            raise typer.BadParameter(f"{value} is not a number from {low:g} to {high:g}")
        return value

    return check


Rate = Annotated[
    float,
    typer.Option(
        "--rate",
        callback=_within(0.1, 100_000),
        help="Transactions per second to send, from 0.1 to 100000.",
    ),
]
#: The largest --limit: a trillion transactions take more than 100 days at the highest --rate,
#: and a limit must stay within what itertools.islice takes (sys.maxsize).
MAX_LIMIT = 1_000_000_000_000
Limit = Annotated[
    int | None,
    typer.Option("--limit", min=1, max=MAX_LIMIT, help="Stop after this many transactions."),
]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="Model directory; the model shipped with FDS without it."),
]
WeightsOption = Annotated[
    str | None,
    typer.Option("--weights", help="Column of sample weights; every metric is then weighted."),
]
StepsOption = Annotated[
    str | None, typer.Option("--steps", help="Only rows of these steps, e.g. 120-400.")
]
Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Seed of the built-in simulator.")]
FraudRate = Annotated[
    float | None,
    typer.Option(
        "--fraud-rate",
        min=0.0,
        max=0.9,
        help="Built-in simulator: share of fraud rows (PaySim's 0.00077 without).",
    ),
]
#: The demo's seed, so that two demos show the same rows.
DEMO_SEED = 7
DemoSeed = Annotated[
    int | None,
    typer.Option("--seed", min=0, help=f"Seed of the built-in simulator ({DEMO_SEED} without)."),
]
#: The demo's fraud share: PaySim's night hours, where the demo's first rows fall, then hold
#: about 3 % fraud, enough to show detections within 2,000 rows.
DEMO_FRAUD_RATE = 0.005
#: The demo's takeovers that come back for the same account, so refusals show: PaySim's
#: own repeats (the chunks of balances over 10,000,000) are too rare in 2,000 rows.
DEMO_RETRY_SHARE = 0.5
DemoFraudRate = Annotated[
    float | None,
    typer.Option(
        "--fraud-rate",
        min=0.0,
        max=0.9,
        help=f"Built-in simulator: share of fraud rows ({DEMO_FRAUD_RATE:g} without).",
    ),
]
RetryShare = Annotated[
    float | None,
    typer.Option(
        "--retry-share",
        min=0.0,
        max=1.0,
        help="Built-in simulator: share of takeovers whose account is drained again later in "
        "the step, so that the block is seen to refuse it (PaySim never does; 0 without, "
        f"{DEMO_RETRY_SHARE:g} in the demo).",
    ),
]


def _refuse_simulator_options(data: Path | None, given: dict[str, object]) -> None:
    """Refuse an option of the built-in simulator given together with ``--data``.

    The options default to ``None`` rather than to their values, because typer passes a
    default exactly as if it had been typed: only ``None`` tells "left out" from "given".

    Raises:
        typer.BadParameter: ``data`` is set and one of ``given`` (option name to value) is not
            ``None``.
    """
    if data is None:
        return
    for option, value in given.items():
        if value is not None:
            raise typer.BadParameter(
                f"{option} applies to the built-in simulator, not to --data FILE; leave it out "
                "or drop --data",
                param_hint=option,
            )


@local_app.command("serve")
def local_serve(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = DEFAULT_LOCAL_PORT,
    shards: Annotated[int, typer.Option("--shards", min=1, max=64)] = 2,
    verbose: Verbose = False,
) -> None:
    """Start the embedded AWS in the foreground with every resource FDS needs."""
    from app.aws import make_clients
    from app.local.process import READY_MARKER
    from app.local.provision import provision
    from app.local.server import LocalAws
    from app.pauses import keep_freezing

    configure_logging(verbose)
    settings = load_settings(environment="local", shard_count=shards)
    try:
        server = LocalAws(port)
    except OSError as error:
        raise FdsError(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror}): pick another --port, "
            "or --port 0 for any free one"
        ) from error
    provision(make_clients(settings, server.endpoint_url), settings.names, shards)
    stopped = threading.Event()
    # The server's state only grows; without this its full collections stall every request.
    keep_freezing(stopped)
    # Each request thread gives up the interpreter lock for every socket call and then waits
    # for it behind the others; a 1 ms switch interval (CPython's default is 5 ms) shortens
    # that wait, which is most of a request's time when the server is busy.
    sys.setswitchinterval(0.001)
    print(f"{READY_MARKER} {server.endpoint_url}", flush=True)
    err_console.print(
        f"Resources: {settings.names.model_dump()}\n"
        f"In another shell: export {ENDPOINT_ENV}={server.endpoint_url}\nCtrl-C stops it."
    )
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.stop()


@app.command()
def produce(
    data: DataOption = None,
    rate: Rate = 100.0,
    limit: Limit = None,
    seed: Seed = None,
    fraud_rate: FraudRate = None,
    retry_share: RetryShare = None,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Write what was sent here at the end.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Send transactions to the stream (through AWS_ENDPOINT_URL, or to real AWS)."""
    from app.aws import make_clients
    from app.producer import StreamProducer
    from app.sources.csv_replay import replay_csv
    from ml.simulator import simulate_transactions

    configure_logging(verbose)
    _refuse_simulator_options(
        data, {"--seed": seed, "--fraud-rate": fraud_rate, "--retry-share": retry_share}
    )
    if report_json is not None:
        check_output_file(report_json, "--report-json")
    settings = load_settings()
    rows = (
        replay_csv(data)
        if data
        else simulate_transactions(
            seed=seed,
            fraud_rate=fraud_rate,
            retry_share=0.0 if retry_share is None else retry_share,
        )
    )
    producer = StreamProducer(make_clients(settings).kinesis, settings.names.stream)
    try:
        report = producer.run(rows, rate=rate, limit=limit)
    except KeyboardInterrupt:
        report = producer.report
    err_console.print(f"sent {report.sent} transactions to {settings.names.stream}")
    if report_json is not None:
        report_json.parent.mkdir(parents=True, exist_ok=True)
        report_json.write_text(json.dumps(dataclasses.asdict(report)) + "\n")


@app.command()
def consume(
    model: ModelOption = None,
    decision_lines: Annotated[
        bool,
        typer.Option(
            "--decision-lines/--no-decision-lines",
            help="Print a line per decision; every decision is in the decisions log either way.",
        ),
    ] = True,
    stats_json: Annotated[
        Path | None,
        typer.Option("--stats-json", help="At exit, write tallies and latency samples here."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Read every shard, score and act, until Ctrl-C or SIGTERM."""
    from app.aws import endpoint_from_environment, is_loopback, make_clients
    from app.consumer.consumer import Consumer
    from app.consumer.health import HealthEndpoint
    from ml.model import load_model

    configure_logging(verbose, show_decisions=decision_lines)
    if stats_json is not None:
        check_output_file(stats_json, "--stats-json")
    settings = load_settings()
    if settings.read_mode == "fan-out" and is_loopback(endpoint_from_environment()):
        raise FdsError(
            f"FDS_READ_MODE=fan-out needs SubscribeToShard, which the local AWS at "
            f"{endpoint_from_environment()} does not serve: set FDS_READ_MODE=polling, or unset "
            f"{ENDPOINT_ENV} to read a stack's stream on AWS"
        )
    consumer = Consumer(make_clients(settings), settings, load_model(model or settings.model_dir))
    endpoint = (
        HealthEndpoint(
            settings.metrics_port,
            consumer.stats.metrics.registry,
            alive=consumer.healthy,
            ready=consumer.ready,
        )
        if settings.metrics_port
        else None
    )
    try:
        consumer.start()
        err_console.print(
            f"[dim]consuming {escape(settings.names.stream)} with model "
            f"{escape(consumer.model_version)}; Ctrl-C stops[/dim]"
        )
        signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        with contextlib.suppress(KeyboardInterrupt):
            consumer.wait()
        consumer.stop()
    finally:
        if endpoint is not None:
            endpoint.stop()
        if stats_json is not None:
            stats_json.parent.mkdir(parents=True, exist_ok=True)
            stats_json.write_text(json.dumps(consumer.stats.to_json_dict()) + "\n")
    failure = consumer.failure()
    if failure is not None:
        raise FdsError(f"{failure}; see the log above")


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="A labelled PaySim CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the model into.")],
    weights: WeightsOption = None,
    steps: StepsOption = None,
    freeze_cost: Annotated[
        float,
        typer.Option(
            "--freeze-cost",
            callback=_within(0.01, 1e12),
            help="Cost of freezing one honest account, in the currency of the amounts; the "
            "threshold weighs it against the amount of each missed fraud.",
        ),
    ] = DEFAULT_FREEZE_COST,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            max=2**31 - 1,
            help="CatBoost's random seed (7 without); another seed gives another model of the "
            "same data, recorded in the card.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Train the classifier: earlier steps train, later steps validate and set the threshold.

    Writes model.cbm, model.json, MODEL_CARD.md and its plots into --out.
    """
    from ml.plots import require_pyplot
    from ml.train import TrainingOptions, train_model

    configure_logging(verbose)
    # Checked before reading and fitting, which take minutes on real data.
    check_output_directory(out, "--out")
    require_pyplot()
    loaded = _read_labelled(data, weights, steps)
    model = train_model(
        loaded,
        out,
        options=_training_options(TrainingOptions(freeze_cost=freeze_cost), seed),
        source=data.name,
        weights_column=weights,
    )
    console.print_json(
        json.dumps(
            {
                "model": str(out),
                "version": model.version,
                "card": str(out / "MODEL_CARD.md"),
                **model.metadata.metrics,
            }
        )
    )


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="A labelled PaySim CSV.")],
    weights: WeightsOption = None,
    model: ModelOption = None,
    steps: StepsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    resamples: Annotated[
        int,
        typer.Option(
            "--resamples",
            callback=_resample_count,
            help=f"Bootstrap resamples for the 90 % intervals, {MIN_BOOTSTRAP_RESAMPLES} to "
            "10000 (0: no intervals). Each one costs about an AUPRC of the whole file: lower "
            "it for files of millions of rows.",
        ),
    ] = BOOTSTRAP_RESAMPLES,
    verbose: Verbose = False,
) -> None:
    """Score every row on its own and report AUPRC, ROC-AUC, precision and recall at the
    model's threshold, recall at precision 0.99, fraud amounts caught and missed, and 90 %
    bootstrap intervals; weighted with --weights."""
    from ml.evaluate import evaluate_model
    from ml.model import load_model

    configure_logging(verbose)
    loaded_model = load_model(model or load_settings().model_dir)
    report = evaluate_model(loaded_model, _read_labelled(data, weights, steps), resamples=resamples)
    if as_json:
        print(json.dumps(report))
        return
    console.print(_evaluation_table(data.name, report))
    for note in report.get("notes", []):
        console.print(f"note: {escape(note)}")


#: The weights column PaySim samples (and ``fds simulate``'s files) carry.
SAMPLE_WEIGHT_COLUMN = "sample_weight"


def _read_labelled(data: Path, weights: str | None, steps: str | None) -> PaysimData:
    """Read the labelled CSV of ``train`` or ``evaluate``, refusing one that is mostly bad rows
    and warning when it has a weights column that is not used.

    Raises:
        DataFormatError: the file cannot be read, or more than half of its rows are bad.
    """
    from ml.data import parse_steps, read_paysim, require_usable

    loaded = read_paysim(data, weights_column=weights, steps=parse_steps(steps))
    require_usable(loaded, data)
    if weights is None and SAMPLE_WEIGHT_COLUMN in loaded.frame.columns:
        err_console.print(
            f"[yellow]warning:[/yellow] {escape(str(data))} has a {SAMPLE_WEIGHT_COLUMN} column "
            f"but no --weights was given, so every figure is unweighted; add --weights "
            f"{SAMPLE_WEIGHT_COLUMN} to weight them"
        )
    return loaded


def _training_options(options: TrainingOptions, seed: int | None) -> TrainingOptions:
    """``options`` with the --seed given, or with their own seed when none was."""
    return options if seed is None else dataclasses.replace(options, seed=seed)


def _resample_count(value: int) -> int:
    """Refuse a resample count too small for a 90 % interval to mean anything."""
    if value != 0 and not MIN_BOOTSTRAP_RESAMPLES <= value <= 10_000:
        raise typer.BadParameter(
            f"{value} resamples cannot give a 90 % interval: give {MIN_BOOTSTRAP_RESAMPLES} to "
            "10000, or 0 for no intervals"
        )
    return value


def _evaluation_table(source: str, report: dict[str, object]) -> Table:
    """The figures of ``fds evaluate`` as a table, with their 90 % intervals beside them."""
    intervals = report.get("intervals")
    intervals = intervals if isinstance(intervals, dict) else {}
    weighted = " (weighted)" if report.get("weighted") else ""
    table = Table(title=f"{source} with model {report['model_version']}{weighted}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("90 % interval", justify="right")
    for key, value in report.items():
        if key in ("intervals", "notes"):
            continue
        if isinstance(value, float):
            shown = f"{value:,.0f}" if key.startswith("fraud_amount") else f"{value:.4f}"
        else:
            shown = "n/a" if value is None else str(value)
        bounds = intervals.get(key)
        interval = f"{bounds[0]:.4f} – {bounds[1]:.4f}" if isinstance(bounds, list) else ""
        table.add_row(key, shown, interval)
    return table


@app.command()
def demo(
    data: DataOption = None,
    rate: Rate = 100.0,
    limit: Limit = 2000,
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Also write the summary here.")
    ] = None,
    model: ModelOption = None,
    shards: Annotated[int, typer.Option("--shards", min=1, max=64)] = 2,
    seed: DemoSeed = None,
    fraud_rate: DemoFraudRate = None,
    retry_share: RetryShare = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Hide the decision lines.")] = False,
    verbose: Verbose = False,
) -> None:
    """Run the whole pipeline on the local AWS and summarise what it detected."""
    from app.demo import DemoOptions, run_demo

    configure_logging(verbose, show_decisions=not quiet)
    _refuse_simulator_options(
        data, {"--seed": seed, "--fraud-rate": fraud_rate, "--retry-share": retry_share}
    )
    if data is not None and not data.is_file():
        raise typer.BadParameter(f"{data} is not a file", param_hint="--data")
    if summary_json is not None:
        check_output_file(summary_json, "--summary-json")
    # Read now, so a bad FDS_* variable stops the demo before anything starts.
    settings = load_settings(environment="local", shard_count=shards)
    # A SIGTERM (from a supervisor, or `kill`) unwinds like Ctrl-C, so the local AWS and the
    # generator, which run as child processes, are stopped rather than left behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    options = DemoOptions(
        data=data,
        rate=rate,
        limit=limit,
        shards=shards,
        seed=DEMO_SEED if seed is None else seed,
        fraud_rate=DEMO_FRAUD_RATE if fraud_rate is None else fraud_rate,
        retry_share=DEMO_RETRY_SHARE if retry_share is None else retry_share,
        model_dir=model or settings.model_dir,
    )
    summary = run_demo(options, err_console)
    _print_summary(summary)
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(summary.to_json() + "\n")
    if summary.decisions + summary.dead_lettered < summary.transactions:
        raise FdsError(
            f"only {summary.decisions + summary.dead_lettered} of {summary.transactions} "
            "transactions were handled; run again with --verbose to see why"
        )


@app.command()
def bench(
    rate: Rate = 1000.0,
    seconds: Annotated[
        float,
        typer.Option(
            "--seconds", callback=_within(1.0, 3600.0), help="How long to send, 1 to 3600 s."
        ),
    ] = 60.0,
    shards: Annotated[int, typer.Option("--shards", min=1, max=64)] = 2,
    consumers: Annotated[
        int,
        typer.Option("--consumers", min=1, max=64, help="Consumer processes; shards are split."),
    ] = 1,
    data: DataOption = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here as JSON.")
    ] = None,
    scoring: Annotated[
        bool, typer.Option("--scoring", help="Measure features plus scoring alone, no AWS.")
    ] = False,
    sweep: Annotated[
        bool,
        typer.Option("--sweep", help="Run at rate, 2×rate, 3×rate… until the p99 target breaks."),
    ] = False,
    p99_target_ms: Annotated[
        float,
        typer.Option(
            "--p99-target-ms",
            callback=_within(1.0, 3_600_000.0),
            help="The p99 a sweep step must hold, in ms.",
        ),
    ] = 1000.0,
    compare_consumers: Annotated[
        bool,
        typer.Option(
            "--compare-consumers",
            help="Run one consumer, then --consumers, at the same rate; report the ratio.",
        ),
    ] = False,
    model: ModelOption = None,
    verbose: Verbose = False,
) -> None:
    """Measure the pipeline (local AWS, generator, consumers as processes) or scoring alone."""
    from app.bench import report
    from app.bench.pipeline import PipelineOptions, run_pipeline
    from app.bench.scoring import measure_scoring
    from ml.model import load_model

    configure_logging(verbose)
    if data is not None and not data.is_file():
        raise typer.BadParameter(f"{data} is not a file", param_hint="--data")
    if json_path is not None:
        check_output_file(json_path, "--json")
    if consumers > shards:
        raise typer.BadParameter(
            f"{consumers} consumers for {shards} shards: a shard is read by one consumer, so "
            "use at most as many consumers as shards",
            param_hint="--consumers",
        )
    # Read now, so a bad FDS_* variable stops the run before anything starts; the pipeline's
    # processes run in the local environment.
    settings = load_settings(environment="local")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if scoring and (sweep or compare_consumers):
        raise typer.BadParameter(
            "--scoring measures the model alone, without the pipeline: drop --sweep and "
            "--compare-consumers, or --scoring",
            param_hint="--scoring",
        )
    if scoring:
        from app.sources.csv_replay import replay_csv

        rows = replay_csv(data) if data is not None else None
        result = measure_scoring(load_model(model or settings.model_dir), rows=rows)
        report.render_scoring(result, console)
        if json_path is not None:
            report.write_json(json_path, result)
        return

    if compare_consumers:
        if consumers < 2 or sweep:
            raise typer.BadParameter(
                "compares one consumer with several: give --consumers 2 or more, without --sweep",
                param_hint="--compare-consumers",
            )
        runs = [
            run_pipeline(
                PipelineOptions(
                    rate=rate, seconds=seconds, shards=shards, consumers=count, data=data
                )
            )
            for count in (1, consumers)
        ]
        report.render_pipeline(runs, console)
        report.render_scaling(runs[0], runs[1], console)
        if json_path is not None:
            ratio = report.scaling_ratio(runs[0], runs[1])
            report.write_json(json_path, {"throughput_ratio": ratio, "runs": runs})
        return

    results = []
    step = 1
    while True:
        options = PipelineOptions(
            rate=rate * step, seconds=seconds, shards=shards, consumers=consumers, data=data
        )
        err_console.print(f"[dim]running {options.rate:g} tx/s for {seconds:g} s…[/dim]")
        results.append(run_pipeline(options))
        if not sweep or not report.sweep_held(results[-1], p99_target_ms):
            break
        step += 1
    report.render_pipeline(results, console)
    if sweep:
        report.render_sweep(results, p99_target_ms, console)
    if json_path is not None:
        payload: object = results if sweep else results[0]
        if sweep:
            payload = {
                "p99_target_ms": p99_target_ms,
                "highest_rate_held_tps": report.highest_held(results, p99_target_ms),
                "steps": results,
            }
        report.write_json(json_path, payload)


def _exit_on_sigterm(*_: object) -> None:
    raise SystemExit(143)


def _print_summary(summary: object) -> None:
    from app.demo import Summary

    assert isinstance(summary, Summary)
    table = Table(title="FDS demo summary", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    latency = summary.latency_ms
    rows = [
        ("source", summary.source),
        ("model", summary.model_version),
        ("transactions sent", summary.transactions),
        ("decisions", summary.decisions),
        ("set aside (dead letters)", summary.dead_lettered),
        ("fraud detected", summary.fraud_detected),
        ("true / false positives", f"{summary.true_positives} / {summary.false_positives}"),
        ("missed frauds", summary.false_negatives),
        ("recall / precision", f"{summary.recall} / {summary.precision}"),
        ("refused (blocked accounts)", summary.blocked_refusals),
        ("alerts delivered to the inbox", summary.alerts_delivered),
        ("throughput", f"{summary.throughput_tps} tx/s (offered {summary.offered_rate_tps})"),
        (
            "latency put → durable decision",
            f"p50 {latency['p50']} · p95 {latency['p95']} · p99 {latency['p99']} · "
            f"max {latency['max']} ms",
        ),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)


def main() -> None:
    """Entry point: turn expected failures into one clear line and exit code 1."""
    try:
        app()
    except (FdsError, MlError) as error:
        err_console.print(f"[red]error:[/red] {escape(str(error))}")
        sys.exit(1)
    except (EndpointConnectionError, NoCredentialsError, NoRegionError) as error:
        err_console.print(
            f"[red]error:[/red] {escape(str(error))}. For the local AWS, start `fds local serve` "
            f"and export {ENDPOINT_ENV}=http://127.0.0.1:{DEFAULT_LOCAL_PORT}; for AWS, configure "
            "credentials and a region."
        )
        sys.exit(1)
    except ParamValidationError as error:
        err_console.print(
            f"[red]error:[/red] a request was refused before it reached AWS: {escape(str(error))}. "
            "A name in use is not one AWS accepts: check the FDS_* name settings (S3 bucket "
            "names take lowercase letters, digits, dots and hyphens)."
        )
        sys.exit(1)
    except ClientError as error:
        hint = _missing_resource_hint(error)
        err_console.print(f"[red]error from AWS:[/red] {escape(str(error) + hint)}")
        sys.exit(1)


def _missing_resource_hint(error: ClientError) -> str:
    """For a resource that does not exist: which names are in use and how to fix them."""
    from app.aws import MISSING_RESOURCE_CODES, error_code

    if error_code(error) not in MISSING_RESOURCE_CODES:
        return ""
    try:
        settings = load_settings()
    except FdsError:
        return ""
    names = ", ".join(f"{kind} {name}" for kind, name in settings.names.model_dump().items())
    return (
        f". The names in use ({settings.environment} environment) are: {names}. Start `fds local "
        "serve` (and export AWS_ENDPOINT_URL), deploy the stack, or correct FDS_ENVIRONMENT or "
        "the FDS_* name settings."
    )


if __name__ == "__main__":
    main()
