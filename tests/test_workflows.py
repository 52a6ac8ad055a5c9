"""The GitHub Actions workflows: they parse, name only what exists, and keep to least privilege.

Each check is a function of a workflow file and the repository root, so that it runs on the
real workflows and, to prove that it can fail, on deliberately broken ones in a temporary
folder. The scripts the workflows call are tested in test_ci_scripts.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
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
#: `--stack dev` or `STACK: dev`: the Pulumi stacks a workflow operates on.
STACK_FLAG = re.compile(r"--stack\s+(?P<stack>[A-Za-z][\w.-]*)")
STEP_REFERENCE = re.compile(r"\bsteps\.(?P<id>[A-Za-z_][\w-]*)\.")
NEEDS_REFERENCE = re.compile(r"\bneeds\.(?P<job>[A-Za-z_][\w-]*)\.")


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


def bootstrap_environments(root: Path) -> list[str]:
    """The GitHub environments the bootstrap stack lets assume the deploy role."""
    with (root / "bootstrap" / "Pulumi.ci.yaml").open(encoding="utf-8") as file:
        return list(yaml.safe_load(file)["config"]["fds-bootstrap:deployEnvironments"])


# The checks. Each raises AssertionError naming the workflow, the job and what is wrong.


def check_parses_with_triggers_and_jobs(path: Path, root: Path) -> None:
    workflow = load(path)
    assert workflow.get("name"), f"{path.name}: no name"
    assert workflow.get("on"), f"{path.name}: no trigger"
    assert jobs_of(path), f"{path.name}: no jobs"
    for name, job in jobs_of(path).items():
        assert job.get("runs-on"), f"{path.name}: job {name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {name} has no steps"


def check_matches_githubs_workflow_schema(path: Path, root: Path) -> None:
    # GitHub's own schema (SchemaStore's, shipped inside check-jsonschema, so offline) catches
    # what YAML accepts and Actions refuses: a misspelt key, a value of the wrong type.
    checker = Path(sys.executable).with_name("check-jsonschema")
    assert checker.is_file(), "check-jsonschema is in the dev extra; run `make setup`"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{path.name}: not a valid workflow: {result.stdout}"


def check_actions_pinned_with_version(path: Path, root: Path) -> None:
    lines = [m["ref"] for line in path.read_text().splitlines() if (m := USES_LINE.match(line))]
    for ref in lines:
        assert PINNED.match(ref), f"{path.name}: `uses: {ref}` is not `owner/repo@<sha> # vX`"
    # The parsed view agrees: every step's `uses` is `owner/repo@<40 hex>`.
    for job, step in steps_of(path):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), (path, job)


def check_references_name_existing_jobs_and_steps(path: Path, root: Path) -> None:
    jobs = jobs_of(path)
    for name, job in jobs.items():
        needs = job.get("needs", [])
        needed = [needs] if isinstance(needs, str) else list(needs)
        for other in needed:
            assert other in jobs, f"{path.name}: job {name} needs missing job {other}"
        text = json.dumps(job)
        for other in NEEDS_REFERENCE.findall(text):
            assert other in needed, f"{path.name}: job {name} reads needs.{other}, not needed"
        # A step may read only the outputs of a step before it in the same job.
        seen: set[str] = set()
        for step in job.get("steps", []):
            for step_id in STEP_REFERENCE.findall(json.dumps(step)):
                assert step_id in seen, f"{path.name}/{name}: steps.{step_id} is not before it"
            if "id" in step:
                seen.add(step["id"])


def check_files_make_targets_and_stacks_exist(path: Path, root: Path) -> None:
    makefile = (root / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))
    for name, job in jobs_of(path).items():
        stacks = {str(job["env"]["STACK"])} if "STACK" in job.get("env", {}) else set()
        for step in job.get("steps", []):
            script = step.get("run", "")
            for target in re.findall(r"\bmake\s+([A-Za-z][\w-]*)", script):
                assert target in targets, f"{path.name}/{name}: `make {target}` is not a target"
            for script_path in re.findall(r"(\.github/[\w./-]+\.sh)", script):
                found = root / script_path
                assert found.is_file(), f"{path.name}/{name}: {script_path} does not exist"
                assert os.access(found, os.X_OK), f"{script_path} is not executable"
            with_ = step.get("with", {})
            if "file" in with_:
                dockerfile = root / with_.get("context", ".") / with_["file"]
                assert dockerfile.is_file(), f"{path.name}/{name}: no {with_['file']}"
            stacks |= set(STACK_FLAG.findall(script)) - {"$STACK", '"$STACK"'}
        for stack in stacks:
            assert (root / f"Pulumi.{stack}.yaml").is_file(), (
                f"{path.name}/{name}: stack {stack} has no Pulumi.{stack}.yaml"
            )


def check_run_scripts_expand_no_expressions(path: Path, root: Path) -> None:
    # Untrusted input (a branch name, a PR title) expanded into a script can run as code; values
    # reach scripts through `env:` instead. No expression at all is the simplest rule to check.
    for job, step in steps_of(path):
        script = step.get("run", "")
        assert "${{" not in script, f"{path.name}/{job}: expression in run: {script!r}"


def check_permissions_minimal(path: Path, root: Path) -> None:
    workflow = load(path)
    # Nothing by default; each job asks for its own.
    assert workflow.get("permissions") == {}, f"{path.name}: set `permissions: {{}}` on top"
    for name, job in jobs_of(path).items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{path.name}: job {name} sets no permissions"
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token", "pull-requests"}, f"{path.name}/{name} writes {writes}"


def check_oidc_only_where_aws_is_used_and_no_keys(path: Path, root: Path) -> None:
    environments = bootstrap_environments(root)
    for name, job in jobs_of(path).items():
        aws = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
        token = (job.get("permissions") or {}).get("id-token")
        assert (token == "write") == bool(aws), f"{path.name}: {name} id-token {token}"
        for step in aws:
            role = step["with"].get("role-to-assume", "")
            assert role.startswith("${{ vars."), f"{path.name}: {name} assumes {role!r}"
            # The deploy role trusts environments' subjects only: a job in another one would
            # be refused by STS, one without one is the preview's, trusted for pull requests.
            if "environment" in job:
                assert job["environment"] in environments, (
                    f"{path.name}/{name}: environment {job['environment']} is not one the "
                    f"deploy role trusts (bootstrap deployEnvironments: {environments})"
                )
            else:
                assert set(load(path)["on"]) == {"pull_request"}, (
                    f"{path.name}/{name}: assumes a role outside pull requests without naming "
                    "an environment"
                )
    text = path.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, (
        f"{path.name}: holds an AWS access key"
    )


def check_no_secrets_for_forks(path: Path, root: Path) -> None:
    triggers = set(load(path)["on"])
    # pull_request_target runs with the base repository's secrets on a fork's code.
    assert "pull_request_target" not in triggers, f"{path.name}: pull_request_target"
    if "pull_request" not in triggers:
        return
    fork_guard = "github.event.pull_request.head.repo.full_name == github.repository"
    for name, job in jobs_of(path).items():
        if "secrets." in json.dumps(job) or "id-token" in (job.get("permissions") or {}):
            assert job.get("if") == fork_guard, f"{path.name}/{name}: not skipped for forks"


CHECKS: list[Callable[[Path, Path], None]] = [
    check_parses_with_triggers_and_jobs,
    check_matches_githubs_workflow_schema,
    check_actions_pinned_with_version,
    check_references_name_existing_jobs_and_steps,
    check_files_make_targets_and_stacks_exist,
    check_run_scripts_expand_no_expressions,
    check_permissions_minimal,
    check_oidc_only_where_aws_is_used_and_no_keys,
    check_no_secrets_for_forks,
]


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} >= {"ci.yml", "preview.yml", "deploy.yml"}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_passes(path: Path, check: Callable[[Path, Path], None]) -> None:
    check(path, REPO_ROOT)


# A small workflow that passes every check, and one change to it per rule, to show that each
# check notices what it is for.
GOOD_WORKFLOW = """
name: good
on:
  push:
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - id: first
        run: make test
      - run: echo "$X"
        env:
          X: ${{ steps.first.outputs.x }}
"""
AWS_STEP = """\
      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4
        with:
          role-to-assume: ${{ vars.ROLE }}
      - id: first"""
TOKEN = ("contents: read", "contents: read\n      id-token: write")
WITH_AWS = ("      - id: first", AWS_STEP)
FIRST = "      - id: first"

#: (name, replacements in GOOD_WORKFLOW, the check that must notice, what its message says).
BREAKAGES: list[tuple[str, list[tuple[str, str]], Callable[[Path, Path], None], str]] = [
    (
        "misspelt-key",
        [("    runs-on: ubuntu-latest", "    runs-on: ubuntu-latest\n    timeout: 10")],
        check_matches_githubs_workflow_schema,
        "not a valid workflow",
    ),
    ("unpinned", [(" # v4.2.2", "")], check_actions_pinned_with_version, "is not"),
    (
        "by-tag",
        [("@11bd71901bbe5b1630ceea73d27597364c9af683", "@v4")],
        check_actions_pinned_with_version,
        "is not",
    ),
    (
        "needs-missing-job",
        [("    runs-on:", "    needs: lint\n    runs-on:")],
        check_references_name_existing_jobs_and_steps,
        "needs missing job lint",
    ),
    (
        "later-step",
        [("steps.first", "steps.later")],
        check_references_name_existing_jobs_and_steps,
        "steps.later is not before",
    ),
    (
        "make-target",
        [("make test", "make deploy")],
        check_files_make_targets_and_stacks_exist,
        "`make deploy` is not a target",
    ),
    (
        "script",
        [("make test", ".github/scripts/missing.sh")],
        check_files_make_targets_and_stacks_exist,
        "missing.sh does not exist",
    ),
    (
        "stack",
        [("make test", "pulumi up --stack staging")],
        check_files_make_targets_and_stacks_exist,
        "no Pulumi.staging.yaml",
    ),
    (
        "dockerfile",
        [
            (
                FIRST,
                "      - uses: docker/build-push-action@"
                "263435318d21b8e681c14492fe198d362a7d2c83 # v6\n"
                "        with:\n          file: Dockerfile.missing\n" + FIRST,
            )
        ],
        check_files_make_targets_and_stacks_exist,
        "no Dockerfile.missing",
    ),
    (
        "expression",
        [('echo "$X"', 'echo "${{ github.event.head_commit.message }}"')],
        check_run_scripts_expand_no_expressions,
        "expression in run",
    ),
    (
        "default-permissions",
        [("permissions: {}\n", "")],
        check_permissions_minimal,
        "permissions: {}",
    ),
    (
        "job-writes",
        [("contents: read", "contents: write")],
        check_permissions_minimal,
        "writes {'contents'}",
    ),
    ("token-unused", [TOKEN], check_oidc_only_where_aws_is_used_and_no_keys, "id-token write"),
    (
        "role-not-a-variable",
        [TOKEN, (FIRST, AWS_STEP.replace("${{ vars.ROLE }}", "arn:aws:iam::123456789012:role/x"))],
        check_oidc_only_where_aws_is_used_and_no_keys,
        "assumes 'arn:aws",
    ),
    (
        "untrusted-environment",
        [TOKEN, WITH_AWS, ("    permissions:", "    environment: staging\n    permissions:")],
        check_oidc_only_where_aws_is_used_and_no_keys,
        "environment staging is not one",
    ),
    (
        "aws-on-push-without-environment",
        [TOKEN, WITH_AWS],
        check_oidc_only_where_aws_is_used_and_no_keys,
        "outside pull requests",
    ),
    (
        "access-key",
        [
            TOKEN,
            WITH_AWS,
            ("    permissions:", "    environment: dev\n    permissions:"),
            (
                "${{ vars.ROLE }}",
                "${{ vars.ROLE }}\n          aws-access-key-id: ${{ secrets.KEY }}",
            ),
        ],
        check_oidc_only_where_aws_is_used_and_no_keys,
        "holds an AWS access key",
    ),
    (
        "pull-request-target",
        [("  push:", "  pull_request_target:")],
        check_no_secrets_for_forks,
        "pull_request_target",
    ),
    (
        "fork-secrets",
        [("  push:", "  pull_request:"), ("${{ steps.first.outputs.x }}", "${{ secrets.TOKEN }}")],
        check_no_secrets_for_forks,
        "not skipped for forks",
    ),
]


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A repository root with the real Makefile and bootstrap config, and no workflows yet."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "Makefile").write_text((REPO_ROOT / "Makefile").read_text())
    (tmp_path / "bootstrap").mkdir()
    bootstrap_config = (REPO_ROOT / "bootstrap" / "Pulumi.ci.yaml").read_text()
    (tmp_path / "bootstrap" / "Pulumi.ci.yaml").write_text(bootstrap_config)
    return tmp_path


def write_workflow(root: Path, text: str) -> Path:
    path = root / ".github" / "workflows" / "scratch.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_workflow_check_passes_the_small_good_workflow(
    scratch_repo: Path, check: Callable[[Path, Path], None]
) -> None:
    check(write_workflow(scratch_repo, GOOD_WORKFLOW), scratch_repo)


@pytest.mark.parametrize(
    ("replacements", "check", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in BREAKAGES],
)
def test_workflow_check_fails_on_a_broken_workflow(
    scratch_repo: Path,
    replacements: list[tuple[str, str]],
    check: Callable[[Path, Path], None],
    message: str,
) -> None:
    broken = GOOD_WORKFLOW
    for old, new in replacements:
        assert old in broken, f"the breakage does not apply: {old!r}"
        broken = broken.replace(old, new, 1)

    with pytest.raises(AssertionError, match=re.escape(message)):
        check(write_workflow(scratch_repo, broken), scratch_repo)


def test_workflow_parse_check_fails_without_jobs(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("name: empty\non: push\njobs: {}\n")

    with pytest.raises(AssertionError, match="no jobs"):
        check_parses_with_triggers_and_jobs(path, tmp_path)


def test_preview_posts_the_diff_to_the_pr() -> None:
    (job,) = jobs_of(WORKFLOWS / "preview.yml").values()
    assert job["permissions"]["pull-requests"] == "write"
    scripts = " ".join(step.get("run", "") for step in job["steps"])
    assert "pulumi preview --stack dev --diff" in scripts
    assert "gh pr comment" in scripts and "--body-file" in scripts


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
        assert build["with"]["tags"] == "${{ steps.registry.outputs.url }}:${{ github.sha }}"
        scripts = " ".join(step.get("run", "") for step in job["steps"])
        assert 'pulumi up --stack "$STACK"' in scripts
        assert '--config "fds:imageTag=$IMAGE_TAG"' in scripts
        # The Pulumi secrets reach the pulumi steps only, never an action or the build.
        assert "secrets." not in json.dumps(job.get("env", {}))
        for step in job["steps"]:
            if "secrets." in json.dumps(step):
                assert "run" in step and "uses" not in step, step


def zizmor(target: Path) -> list[dict[str, Any]]:
    executable = Path(sys.executable).with_name("zizmor")
    assert executable.is_file(), "zizmor is in the dev extra; run `make setup`"
    result = subprocess.run(
        [str(executable), "--offline", "--format", "json", "--min-severity", "high", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip(), f"zizmor printed nothing: {result.stderr}"
    return list(json.loads(result.stdout))


def test_zizmor_reports_no_high_severity_finding() -> None:
    findings = zizmor(WORKFLOWS)
    assert findings == [], json.dumps(findings, indent=1)[:4000]


#: A fork's pull request, run with the base repository's token, with its title in a script.
INJECTED_WORKFLOW = """
name: injected
on:
  pull_request_target:
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_zizmor_reports_the_injection_of_a_bad_workflow(scratch_repo: Path) -> None:
    write_workflow(scratch_repo, INJECTED_WORKFLOW)

    findings = zizmor(scratch_repo / ".github" / "workflows")

    audits = {finding["ident"] for finding in findings}
    assert "template-injection" in audits, audits
