"""Logging set-up for the command line: decision lines on stdout, everything else on stderr."""

from __future__ import annotations

import logging
import sys


def configure_logging(verbose: bool = False, show_decisions: bool = True) -> None:
    decisions = logging.getLogger("fds.decisions")
    decisions.handlers.clear()
    decisions.propagate = False
    decisions.setLevel(logging.INFO if show_decisions else logging.CRITICAL)
    line = logging.StreamHandler(sys.stdout)
    line.setFormatter(logging.Formatter("%(message)s"))
    decisions.addHandler(line)

    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # The local server's HTTP layer logs a line per request; keep only its errors.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)
