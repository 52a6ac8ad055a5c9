"""Output-path checks made before a command's work (``app.outputs``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from app.outputs import check_output_directory, check_output_file


def test_check_output_file_a_new_file_in_new_folders_passes_and_creates_nothing(
    tmp_path: Path,
) -> None:
    # Given a file path whose folders do not exist yet
    out = tmp_path / "a" / "b" / "result.json"

    # When it is checked
    check_output_file(out, "--json")

    # Then it passes and leaves nothing behind: folders are made only when the file is written
    assert list(tmp_path.iterdir()) == [], f"the check left {list(tmp_path.iterdir())}"


def test_check_output_file_an_existing_file_passes_unchanged(tmp_path: Path) -> None:
    # Given an existing file that will be replaced
    out = tmp_path / "result.json"
    out.write_text("old\n")

    # When it is checked
    check_output_file(out, "--json")

    # Then it passes and its content is untouched
    assert out.read_text() == "old\n", "checking a file must not change it"
    assert list(tmp_path.iterdir()) == [out], f"the check left {list(tmp_path.iterdir())}"


def test_check_output_file_a_directory_is_refused(tmp_path: Path) -> None:
    # Given a path that is a directory
    # When it is checked as a file
    # Then it is refused saying a file name is needed
    with pytest.raises(typer.BadParameter, match="is a directory; give a file name"):
        check_output_file(tmp_path, "--out")


@pytest.mark.parametrize("under", ["/proc", "a regular file"])
def test_check_output_file_an_unwritable_folder_is_refused(tmp_path: Path, under: str) -> None:
    # Given a file path in a folder nothing can be created in (even as root)
    base = Path("/proc")
    if under == "a regular file":
        base = tmp_path / "file.txt"
        base.write_text("x\n")
    out = base / "result.json"

    # When it is checked
    with pytest.raises(typer.BadParameter) as raised:
        check_output_file(out, "--report-json")

    # Then the error names the path, says why, and what to do
    message = raised.value.format_message()
    assert str(out) in message, f"the path should be named: {message}"
    assert "choose a path in a directory you can write to" in message, f"no fix: {message}"
    assert raised.value.param_hint == "--report-json", "the option should be named"


def test_check_output_directory_an_existing_or_creatable_directory_passes(tmp_path: Path) -> None:
    # Given an existing directory and one that does not exist yet
    # When each is checked
    check_output_directory(tmp_path, "--out")
    check_output_directory(tmp_path / "models" / "new", "--out")

    # Then both pass and nothing is left behind
    assert list(tmp_path.iterdir()) == [], f"the check left {list(tmp_path.iterdir())}"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [("file.txt", "is a file, not a directory"), ("file.txt/model", "is a file, not a directory")],
)
def test_check_output_directory_a_file_in_the_way_is_refused(
    tmp_path: Path, relative: str, expected: str
) -> None:
    # Given a directory path that is, or lies under, a regular file
    (tmp_path / "file.txt").write_text("x\n")

    # When it is checked
    # Then it is refused
    with pytest.raises(typer.BadParameter, match=expected):
        check_output_directory(tmp_path / relative, "--out")


def test_check_output_directory_under_proc_is_refused() -> None:
    # Given a directory that cannot be created (under /proc, so even root cannot)
    # When it is checked
    # Then it is refused naming the folder that refused it
    with pytest.raises(typer.BadParameter, match="cannot create a directory in /proc"):
        check_output_directory(Path("/proc/fdsm"), "--out")
