"""The operators' commands: ``fds blocklist …``, ``fds decisions export``, ``fds alerts export``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from app.aws import make_clients
from app.logs import configure_logging
from app.operations import audit, blocklist_admin
from app.outputs import check_output_file
from app.settings import load_settings

console = Console()
err_console = Console(stderr=True)

blocklist_app = typer.Typer(help="See and change the block list.", no_args_is_help=True)
decisions_app = typer.Typer(help="The decisions log.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alerts sent to the operators.", no_args_is_help=True)

AccountArgument = Annotated[str, typer.Argument(help="The customer account, e.g. C1231006815.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write JSON lines here; standard output without it.")
]


@blocklist_app.command("list")
def blocklist_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per entry.")] = False,
) -> None:
    """Every blocked account, with the transaction that blocked it."""
    configure_logging()
    settings = load_settings()
    entries = sorted(
        blocklist_admin.list_blocked(make_clients(settings), settings.names),
        key=lambda entry: entry.get("blocked_at", 0),
    )
    if as_json:
        for entry in entries:
            print(json.dumps(entry))
        return
    table = Table(title=f"{len(entries)} blocked account(s) in {settings.names.blocklist_table}")
    for column in ("account", "blocked by transaction", "amount", "score", "model", "blocked at"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            str(entry.get("account")),
            str(entry.get("tx_id", "")),
            str(entry.get("amount", "")),
            str(entry.get("score", "")),
            str(entry.get("model_version", "")),
            audit.utc(entry["blocked_at"]) if "blocked_at" in entry else "",
        )
    console.print(table)


@blocklist_app.command("show")
def blocklist_show(account: AccountArgument) -> None:
    """One account's block-list entry and its past unblocks, as JSON; exit 1 if not blocked."""
    configure_logging()
    settings = load_settings()
    try:
        entry = blocklist_admin.show_blocked(make_clients(settings), settings.names, account)
    except blocklist_admin.NotBlockedError as error:
        # Its history is still worth seeing: who unblocked it, when and why.
        print(json.dumps({"account": account, "unblocks": error.unblocks}, indent=2))
        raise
    print(json.dumps(entry, indent=2))


@blocklist_app.command("unblock")
def blocklist_unblock(
    account: AccountArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit record.")],
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who; the AWS identity running the command without it."),
    ] = None,
) -> None:
    """Take an account off the block list; who, when and why are recorded."""
    configure_logging()
    settings = load_settings()
    record = blocklist_admin.unblock(make_clients(settings), settings.names, account, reason, by)
    err_console.print(
        f"{account} unblocked by {record['unblocked_by']}; consumers stop refusing it within "
        f"{settings.blocklist_refresh_seconds:g} s (up to "
        f"{3 * settings.blocklist_refresh_seconds:g} s for one whose refreshes are failing)"
    )


@decisions_app.command("export")
def decisions_export(out: OutOption = None) -> None:
    """Every logged decision as JSON lines, one per transaction."""
    configure_logging()
    _check_output(out)
    settings = load_settings()
    with _output(out) as stream:
        report = audit.export_decisions(make_clients(settings), settings.names, stream)
    _report(report, "decisions")


@alerts_app.command("export")
def alerts_export(out: OutOption = None) -> None:
    """Every alert in the operators' queue as JSON lines; the queue keeps them."""
    configure_logging()
    _check_output(out)
    settings = load_settings()
    with _output(out) as stream:
        report = audit.export_alerts(make_clients(settings), settings.names, stream)
    _report(report, "alerts")


def _check_output(out: Path | None) -> None:
    if out is not None:
        check_output_file(out, "--out")


@contextlib.contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as stream:
        yield stream


def _report(report: audit.ExportReport, what: str) -> None:
    repeated = f" ({report.repeated} repeated entries left out)" if report.repeated else ""
    err_console.print(f"exported {report.written} {what}{repeated}")
