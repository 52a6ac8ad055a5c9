"""Logging set-up for the command line: decision lines on stdout, everything else on stderr.

``FDS_LOG_FORMAT=json`` (what the cluster workload sets) turns every line into one JSON object
with fixed keys, ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus what
the line carries (``decision`` for a decision line, ``shard_id`` and ``sequence_number`` for a
record set aside), so a log pipeline can index them without parsing text.
"""

from __future__ import annotations

import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

from app.errors import FdsError

LOG_FORMAT_ENV = "FDS_LOG_FORMAT"
LOG_FORMATS = ("text", "json")


def configure_logging(
    verbose: bool = False, show_decisions: bool = True, log_format: str | None = None
) -> None:
    """Route decision lines to stdout and the rest to stderr, as text or JSON.

    Args:
        log_format: ``text`` or ``json``; ``FDS_LOG_FORMAT`` (or text) when None.

    Raises:
        FdsError: an unknown format, naming the variable to fix.
    """
    chosen = log_format or os.environ.get(LOG_FORMAT_ENV) or "text"
    if chosen not in LOG_FORMATS:
        raise FdsError(
            f"{LOG_FORMAT_ENV}={chosen!r} is not a log format: use one of {', '.join(LOG_FORMATS)}"
        )
    as_json = chosen == "json"

    decisions = logging.getLogger("fds.decisions")
    decisions.handlers.clear()
    decisions.propagate = False
    decisions.setLevel(logging.INFO if show_decisions else logging.CRITICAL)
    line = logging.StreamHandler(sys.stdout)
    line.setFormatter(_json_formatter() if as_json else logging.Formatter("%(message)s"))
    decisions.addHandler(line)

    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _json_formatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # The local server's HTTP layer logs a line per request; keep only its errors.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )
