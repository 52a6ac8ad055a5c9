"""Log lines as text or as JSON with fixed keys (``app.logs``)."""

from __future__ import annotations

import json
import logging

import pytest

from app.errors import FdsError
from app.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("fds.decisions").handlers.clear()
    logging.getLogger("fds.decisions").propagate = True


def test_json_lines_have_fixed_keys_and_the_line_fields(capsys) -> None:
    configure_logging(log_format="json")

    logging.getLogger("fds.decisions").info("✅ NORMAL: 12.50", extra={"decision": {"tx_id": "t"}})
    logging.getLogger("app.x").error("set aside", extra={"shard_id": "s-1"})

    captured = capsys.readouterr()
    decision = json.loads(captured.out)
    other = json.loads(captured.err)
    assert {"time", "level", "logger", "message"} <= decision.keys()
    assert decision["message"] == "✅ NORMAL: 12.50" and decision["decision"] == {"tx_id": "t"}
    assert decision["logger"] == "fds.decisions" and decision["level"] == "INFO"
    assert other["shard_id"] == "s-1" and other["level"] == "ERROR"
    assert decision["time"].endswith("+00:00"), decision["time"]


def test_text_is_the_default(capsys, monkeypatch) -> None:
    monkeypatch.delenv("FDS_LOG_FORMAT", raising=False)
    configure_logging()
    logging.getLogger("fds.decisions").info("✅ NORMAL: 1.00")
    assert capsys.readouterr().out == "✅ NORMAL: 1.00\n"


def test_the_format_comes_from_the_environment(capsys, monkeypatch) -> None:
    monkeypatch.setenv("FDS_LOG_FORMAT", "json")
    configure_logging()
    logging.getLogger("fds.decisions").info("line")
    assert json.loads(capsys.readouterr().out)["message"] == "line"


def test_an_unknown_format_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("FDS_LOG_FORMAT", "xml")
    with pytest.raises(FdsError, match=r"FDS_LOG_FORMAT='xml'.*text, json"):
        configure_logging()
