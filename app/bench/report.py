"""Tables of benchmark figures for the terminal, and the same figures as JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from app.bench.explanations import ExplanationCost
from app.bench.pipeline import PipelineResult
from app.bench.scoring import ScoringResult


def _ms(figures: dict[str, float | None]) -> str:
    return " · ".join(f"{k} {v}" for k, v in figures.items())


def render_pipeline(results: list[PipelineResult], console: Console) -> None:
    for result in results:
        table = Table(
            title=f"FDS pipeline benchmark at {result.offered_rate_tps:g} tx/s", show_header=False
        )
        table.add_column("")
        table.add_column("", justify="right")
        table.add_row(
            "duration / shards / consumers",
            f"{result.seconds:g} s / {result.shards} / {result.consumers}",
        )
        table.add_row(
            "sent / decided / set aside",
            f"{result.sent} / {result.decided} / {result.dead_lettered}",
        )
        table.add_row(
            "throughput", f"{result.throughput_tps} tx/s (offered {result.offered_rate_tps:g})"
        )
        table.add_row("latency put → durable decision (ms)", _ms(result.latency_ms))
        table.add_row(
            "p99 first half → second half (ms)",
            f"{result.latency_p99_first_half_ms} → {result.latency_p99_second_half_ms}",
        )
        table.add_row("consumer time per batch (ms)", _ms(result.batch_processing_ms))
        for usage in result.processes:
            table.add_row(
                f"{usage.name}: CPU · memory",
                f"{usage.cpu_percent}% of a core ({usage.cpu_seconds} s) · "
                f"{usage.rss_start_mib} → {usage.rss_end_mib} MiB (peak {usage.rss_peak_mib})",
            )
        console.print(table)


def render_sweep(results: list[PipelineResult], target_ms: float, console: Console) -> None:
    table = Table(title=f"Rate sweep: highest rate with p99 ≤ {target_ms:g} ms")
    for column in ("offered tx/s", "throughput", "p50 ms", "p99 ms", "held"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            f"{result.offered_rate_tps:g}",
            f"{result.throughput_tps}",
            f"{result.latency_ms['p50']}",
            f"{result.latency_ms['p99']}",
            "yes" if sweep_held(result, target_ms) else "no",
        )
    console.print(table)
    best = highest_held(results, target_ms)
    console.print(f"highest rate held: {best:g} tx/s" if best else "no rate held the target")


def render_scaling(one: PipelineResult, many: PipelineResult, console: Console) -> None:
    """One consumer against several, measured in one invocation at one offered rate."""
    table = Table(
        title=f"{many.consumers} consumers against 1 at {one.offered_rate_tps:g} tx/s offered"
    )
    for column in ("consumers", "throughput", "p99 ms", "local AWS CPU", "consumers' CPU"):
        table.add_column(column, justify="right")
    for result in (one, many):
        server = [u.cpu_percent for u in result.processes if u.name == "local AWS"]
        readers = [u.cpu_percent for u in result.processes if u.name.startswith("consumer")]
        table.add_row(
            str(result.consumers),
            f"{result.throughput_tps}",
            f"{result.latency_ms['p99']}",
            f"{server[0] if server else '?'}% of a core",
            f"{round(sum(readers), 1)}% of a core",
        )
    console.print(table)
    console.print(f"throughput ratio {many.consumers}:1 = {scaling_ratio(one, many)}")


def scaling_ratio(one: PipelineResult, many: PipelineResult) -> float | None:
    if not one.throughput_tps:
        return None
    return round(many.throughput_tps / one.throughput_tps, 2)


def sweep_held(result: PipelineResult, target_ms: float) -> bool:
    p99 = result.latency_ms["p99"]
    return result.held and p99 is not None and p99 <= target_ms


def highest_held(results: list[PipelineResult], target_ms: float) -> float | None:
    held = [r.offered_rate_tps for r in results if sweep_held(r, target_ms)]
    return max(held, default=None)


def render_scoring(result: ScoringResult, console: Console) -> None:
    table = Table(title="Features + scoring alone (one thread)", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("batch size / batches scored", f"{result.batch_size} / {result.batches}")
    table.add_row("throughput per core", f"{result.batch_tps_per_core:,.0f} tx/s")
    table.add_row(
        "single transaction p50 / p99", f"{result.single_ms_p50} / {result.single_ms_p99} ms"
    )
    console.print(table)
    if result.explanations is not None:
        render_explanations(result.explanations, console)


def render_explanations(cost: ExplanationCost, console: Console) -> None:
    table = Table(
        title=f"Scoring a batch of {cost.batch_size} and explaining its frauds (one thread)",
        show_header=False,
    )
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("SHAP table built once, at start", f"{cost.prepare_seconds} s")
    for batch in cost.batches:
        table.add_row(
            f"{batch.flagged} flagged: batch p50 / p99", f"{batch.ms_p50} / {batch.ms_p99} ms"
        )
    table.add_row("one explanation p50 / p99", f"{cost.single_ms_p50} / {cost.single_ms_p99} ms")
    console.print(table)


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(payload), indent=2) + "\n")


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
