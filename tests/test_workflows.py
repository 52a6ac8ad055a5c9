"""The GitHub Actions workflows: they parse, pin their actions, and keep to least privilege."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))

#: A full commit SHA, then a comment with the version it is.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>.+?)\s*$")


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        workflow = yaml.safe_load(file)
    assert isinstance(workflow, dict), f"{path.name}: not a mapping"
    # YAML 1.1 reads the `on:` key as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def jobs_of(path: Path) -> dict[str, dict[str, Any]]:
    return dict(load(path)["jobs"])


def steps_of(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in jobs_of(path).items() for step in job.get("steps", [])]


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} >= {"ci.yml", "preview.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_parses_with_triggers_and_jobs(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("name"), f"{path.name}: no name"
    assert workflow.get("on"), f"{path.name}: no trigger"
    assert jobs_of(path), f"{path.name}: no jobs"
    for name, job in jobs_of(path).items():
        assert job.get("runs-on"), f"{path.name}: job {name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {name} has no steps"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    lines = [m["ref"] for line in path.read_text().splitlines() if (m := USES_LINE.match(line))]
    assert lines, f"{path.name}: uses no action"
    for ref in lines:
        assert PINNED.match(ref), f"{path.name}: `uses: {ref}` is not `owner/repo@<sha> # vX`"
    # The parsed view agrees: every step's `uses` is `owner/repo@<40 hex>`.
    for job, step in steps_of(path):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), (path, job)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_needs_name_only_jobs_of_the_workflow(path: Path) -> None:
    jobs = jobs_of(path)
    for name, job in jobs.items():
        needs = job.get("needs", [])
        for needed in [needs] if isinstance(needs, str) else needs:
            assert needed in jobs, f"{path.name}: job {name} needs missing job {needed}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_files_and_make_targets_referenced_exist(path: Path) -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))
    for job, step in steps_of(path):
        script = step.get("run", "")
        for target in re.findall(r"\bmake\s+([A-Za-z][\w-]*)", script):
            assert target in targets, f"{path.name}/{job}: `make {target}` is not a target"
        for script_path in re.findall(r"(\.github/[\w./-]+\.sh)", script):
            found = REPO_ROOT / script_path
            assert found.is_file(), f"{path.name}/{job}: {script_path} does not exist"
            assert os.access(found, os.X_OK), f"{script_path} is not executable"
        with_ = step.get("with", {})
        if "file" in with_:
            assert (REPO_ROOT / with_.get("context", ".") / with_["file"]).is_file()


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_run_scripts_expand_no_expressions(path: Path) -> None:
    # Untrusted input (a branch name, a PR title) expanded into a script can run as code; values
    # reach scripts through `env:` instead. No expression at all is the simplest rule to check.
    for job, step in steps_of(path):
        script = step.get("run", "")
        assert "${{ github.event" not in script, f"{path.name}/{job}: {script!r}"
        assert "${{" not in script, f"{path.name}/{job}: expression in run: {script!r}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_permissions_are_set_for_every_job(path: Path) -> None:
    workflow = load(path)
    for name, job in jobs_of(path).items():
        assert "permissions" in workflow or "permissions" in job, f"{path.name}: {name}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_oidc_token_only_where_aws_is_used_and_no_keys(path: Path) -> None:
    workflow = load(path)
    assert "id-token" not in (workflow.get("permissions") or {}), "id-token is per job"
    for name, job in jobs_of(path).items():
        steps = job["steps"]
        aws = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
        token = (job.get("permissions") or {}).get("id-token")
        assert (token == "write") == bool(aws), f"{path.name}: {name} id-token {token}"
        for step in aws:
            assert step["with"].get("role-to-assume"), f"{path.name}: {name} assumes no role"
    text = path.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_preview_is_skipped_for_forks_and_posts_to_the_pr() -> None:
    workflow = load(WORKFLOWS / "preview.yml")
    assert set(workflow["on"]) == {"pull_request"}, "pull_request_target would hand forks secrets"
    (job,) = jobs_of(WORKFLOWS / "preview.yml").values()
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["permissions"]["pull-requests"] == "write"
    scripts = " ".join(step.get("run", "") for step in job["steps"])
    assert "pulumi preview --stack dev" in scripts
    assert "gh pr comment" in scripts


def test_deploy_dev_on_main_and_prod_only_on_a_tag_behind_its_environment() -> None:
    workflow = load(WORKFLOWS / "deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"], "tags": ["v*"]}}
    jobs = jobs_of(WORKFLOWS / "deploy.yml")

    dev, prod = jobs["dev"], jobs["prod"]
    assert dev["if"] == "github.ref == 'refs/heads/main'"
    assert prod["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert (dev["environment"], prod["environment"]) == ("dev", "prod")
    for stack, job in (("dev", dev), ("prod", prod)):
        assert job["needs"] == "test"
        assert job["env"]["STACK"] == stack
        assert job["env"]["IMAGE_TAG"] == "${{ github.sha }}"
        (build,) = [s for s in job["steps"] if "docker/build-push-action" in s.get("uses", "")]
        assert build["with"]["file"] == "Dockerfile" and build["with"]["push"] is True
        assert build["with"]["tags"].endswith(":${{ github.sha }}")
        scripts = " ".join(step.get("run", "") for step in job["steps"])
        assert 'pulumi up --stack "$STACK"' in scripts
        assert '--config "fds:imageTag=$IMAGE_TAG"' in scripts


def test_zizmor_reports_no_high_severity_finding() -> None:
    zizmor = Path(sys.executable).with_name("zizmor")
    assert zizmor.is_file(), "zizmor is in the dev extra; run `make setup`"
    result = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", "--min-severity", "high", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip(), f"zizmor printed nothing: {result.stderr}"
    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=1)[:4000]
