"""The operators' commands end to end: ``fds blocklist``, ``fds decisions``, ``fds alerts``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.consumer.effects import Effects

REPO_ROOT = Path(__file__).resolve().parents[3]


def fds(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AWS_ENDPOINT_URL": env.endpoint_url, "COLUMNS": "1000"},
    )


def test_block_list_round_trip(local_aws_env, make_decision) -> None:
    Effects(local_aws_env.clients, local_aws_env.resources).block(
        [make_decision(account="C77", tx_id="t-77")]
    )

    listed = fds(local_aws_env, "blocklist", "list", "--json")
    unblocked = fds(local_aws_env, "blocklist", "unblock", "C77", "--reason", "verified")
    shown = fds(local_aws_env, "blocklist", "show", "C77")

    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["account"] for line in listed.stdout.splitlines()] == ["C77"]
    assert unblocked.returncode == 0 and "C77 unblocked by" in unblocked.stderr
    assert shown.returncode == 1 and "not on the block list" in shown.stderr
    # ...and still shows who unblocked it, and why
    history = json.loads(shown.stdout)
    assert history["account"] == "C77"
    assert [unblock["reason"] for unblock in history["unblocks"]] == ["verified"]


def test_bad_arguments_say_what_to_fix(local_aws_env, tmp_path: Path) -> None:
    bad_account = fds(local_aws_env, "blocklist", "unblock", "M1", "--reason", "x")
    no_reason = fds(local_aws_env, "blocklist", "unblock", "C1")
    out_is_dir = fds(local_aws_env, "decisions", "export", "--out", str(tmp_path))

    assert bad_account.returncode == 1 and "C followed by digits" in bad_account.stderr
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    assert out_is_dir.returncode == 2 and "is a directory" in out_is_dir.stderr


def test_decisions_export_to_a_file(local_aws_env, make_decision, tmp_path: Path) -> None:
    Effects(local_aws_env.clients, local_aws_env.resources).log_decisions(
        "shardId-000000000000", [make_decision(tx_id="t-5").to_json_dict()]
    )
    out = tmp_path / "audit" / "decisions.jsonl"

    completed = fds(local_aws_env, "decisions", "export", "--out", str(out))

    assert completed.returncode == 0, completed.stderr
    assert "exported 1 decisions" in completed.stderr
    assert [json.loads(line)["tx_id"] for line in out.read_text().splitlines()] == ["t-5"]
