"""The consumer image and the package boundaries that keep Pulumi out of it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"


def instructions(name: str) -> list[str]:
    """The arguments of every Dockerfile instruction ``name``, continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [line.split(None, 1)[1] for line in lines if line.upper().startswith(name + " ")]


def test_image_bases_are_slim_and_pinned() -> None:
    bases = [line.split()[0] for line in instructions("FROM")]

    assert bases, "the Dockerfile has no FROM"
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", base), f"unpinned base {base}"


def test_image_installs_the_project_without_extras() -> None:
    installs = [line for line in instructions("RUN") if "pip install" in line]

    assert installs, "the image installs nothing"
    for line in installs:
        assert "[" not in line, f"an extra is installed: {line}"
        for extra in ("infra", "local", "dev", "pulumi"):
            assert extra not in line, f"{extra} in the image's install line: {line}"


def test_image_runs_fds_consume_as_a_non_root_user() -> None:
    (user,) = instructions("USER")
    (entrypoint,) = instructions("ENTRYPOINT")
    (command,) = instructions("CMD")

    assert user.split(":")[0] not in ("root", "0"), f"runs as {user}"
    assert json.loads(entrypoint) == ["fds"]
    assert json.loads(command) == ["consume"]


def test_image_user_is_the_one_the_deployment_runs_as() -> None:
    pytest.importorskip("pulumi", reason="the infra extra is not installed")
    from components.workload import RUN_AS_ID

    (user,) = instructions("USER")

    assert user == f"{RUN_AS_ID}:{RUN_AS_ID}"


@pytest.mark.parametrize("package", ["app", "ml"])
def test_runtime_packages_never_import_pulumi(package: str) -> None:
    offenders = []
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(REPO_ROOT)}: {n}" for n in names if "pulumi" in n]

    assert offenders == [], f"the consumer image has no Pulumi: {offenders}"


def test_components_import_neither_app_nor_stacks() -> None:
    offenders = []
    for path in sorted((REPO_ROOT / "components").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "app",
                "stacks",
            ):
                offenders.append(f"{path.name}: {node.module}")
            if isinstance(node, ast.Import):
                offenders += [
                    f"{path.name}: {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in ("app", "stacks")
                ]

    assert offenders == [], f"components must stay reusable: {offenders}"
