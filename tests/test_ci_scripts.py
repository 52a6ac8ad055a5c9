"""The scripts the workflows call, run here with stand-ins for curl, pulumi and aws on PATH."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / ".github" / "scripts"


def stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


def run_script(
    script: str, env: dict[str, str], stand_ins: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / script)],
        env={**os.environ, **env, "PATH": f"{stand_ins}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A fake Pulumi release folder: the archive and its checksums file, as GitHub serves them."""
    folder = tmp_path / "release"
    (folder / "pulumi").mkdir(parents=True)
    (folder / "pulumi" / "pulumi").write_text("#!/bin/sh\necho v3.272.0\n")
    archive = folder / "pulumi-v3.272.0-linux-x64.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "pulumi", arcname="pulumi")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (folder / "pulumi-3.272.0-checksums.txt").write_text(
        f"{'0' * 64}  pulumi-v3.272.0-darwin-x64.tar.gz\n{digest}  {archive.name}\n"
    )
    return folder


def fake_curl(tmp_path: Path, release: Path) -> Path:
    """A curl that serves `-o FILE URL` from the release folder, by the URL's last part."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stand_in(
        bin_dir,
        "curl",
        f'while [[ $# -gt 0 ]]; do case "$1" in -o) out="$2"; shift 2;; '
        f'http*) url="$1"; shift;; *) shift;; esac; done\n'
        f'cp "{release}/${{url##*/}}" "$out"',
    )
    return bin_dir


def test_install_pulumi_puts_a_checked_cli_on_the_path(tmp_path: Path, release: Path) -> None:
    runner_temp, github_path = tmp_path / "runner", tmp_path / "github_path"
    runner_temp.mkdir()
    env = {
        "PULUMI_VERSION": "3.272.0",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_PATH": str(github_path),
    }

    result = run_script("install-pulumi.sh", env, fake_curl(tmp_path, release))

    assert result.returncode == 0, result.stderr
    assert github_path.read_text().strip() == f"{runner_temp}/pulumi"
    assert (runner_temp / "pulumi" / "pulumi").is_file()


def test_install_pulumi_refuses_an_archive_that_does_not_match(
    tmp_path: Path, release: Path
) -> None:
    archive = release / "pulumi-v3.272.0-linux-x64.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"tampered")
    runner_temp, github_path = tmp_path / "runner", tmp_path / "github_path"
    runner_temp.mkdir()
    env = {
        "PULUMI_VERSION": "3.272.0",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_PATH": str(github_path),
    }

    result = run_script("install-pulumi.sh", env, fake_curl(tmp_path, release))

    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
    assert not github_path.exists(), "a CLI that failed its check must not reach the PATH"


@pytest.mark.parametrize(
    ("aws_answer", "aws_status", "pushed"),
    [
        ("sha256:abc", 0, "true"),
        (
            "An error occurred (ImageNotFoundException) when calling the DescribeImages "
            "operation: The image with imageId {imageTag:'c0ffee'} does not exist",
            254,
            "false",
        ),
        ("An error occurred (AccessDeniedException) when calling DescribeImages", 254, None),
    ],
    ids=["pushed", "not-pushed", "denied"],
)
def test_stack_image_finds_the_repository_and_the_commits_image(
    tmp_path: Path, aws_answer: str, aws_status: int, pushed: str | None
) -> None:
    bin_dir, outputs = tmp_path / "bin", tmp_path / "outputs"
    bin_dir.mkdir()
    url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fds-dev-consumer"
    stand_in(
        bin_dir, "pulumi", f'[[ "$*" == "stack output repositoryUrl --stack dev" ]] && echo {url}'
    )
    stand_in(
        bin_dir,
        "aws",
        '[[ "$*" == *"--repository-name fds-dev-consumer --image-ids imageTag=c0ffee"* ]] || '
        f'exit 99\necho "{aws_answer}" >&2\nexit {aws_status}',
    )
    env = {"STACK": "dev", "IMAGE_TAG": "c0ffee", "GITHUB_OUTPUT": str(outputs)}

    result = run_script("stack-image.sh", env, bin_dir)

    if pushed is None:
        assert result.returncode == 1 and "AccessDenied" in result.stderr, result
        assert not outputs.exists()
    else:
        assert result.returncode == 0, result.stderr
        assert outputs.read_text().splitlines() == [f"url={url}", f"pushed={pushed}"]
