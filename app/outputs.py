"""Checks of the paths commands write to, made before any work starts.

A command that trains, sends or measures for minutes and only then finds it cannot write its
result loses that work. Each command checks its output paths first with these functions; they
try what the write will do (create a file, or a directory) in the folder it will happen in,
because permission bits say little: root passes every ``os.access`` check, yet cannot create a
file under ``/proc`` or on a read-only mount. Nothing is left behind by a check: folders that
do not exist yet are still created only when the result is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

_FIX = "choose a path in a directory you can write to"


def check_output_file(path: Path, option: str) -> None:
    """Refuse a file path the command could not write, naming ``option``.

    The file may exist (it is replaced); missing folders above it must be creatable.

    Raises:
        typer.BadParameter: ``path`` is a directory, or lies under a file, or cannot be created.
    """
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    if path.exists():
        _check_existing_file(path, option)
        return
    _check_can_create(path, option, what="file")


def check_output_directory(path: Path, option: str) -> None:
    """Refuse a directory path the command could not write files into, naming ``option``.

    Raises:
        typer.BadParameter: ``path`` is a file, or lies under a file, or cannot be created or
            written into.
    """
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(
            f"{path} is a file, not a directory: choose a directory path", param_hint=option
        )
    if path.is_dir():
        _probe(path, path, option, directory=False)
        return
    _check_can_create(path, option, what="directory")


def _check_existing_file(path: Path, option: str) -> None:
    try:
        # Opening to append creates nothing and changes nothing, yet fails where a write would.
        with path.open("a"):
            pass
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write {path} ({error.strerror}): {_FIX}", param_hint=option
        ) from error


def _check_can_create(path: Path, option: str, *, what: str) -> None:
    """``path`` does not exist: the nearest existing folder above it must take a new entry."""
    ancestor = next(folder for folder in path.parents if folder.exists())
    if not ancestor.is_dir():
        raise typer.BadParameter(
            f"cannot create the {what} {path}: {ancestor} is a file, not a directory; {_FIX}",
            param_hint=option,
        )
    # Directly in its folder, the file itself is created; further down, folders are created first.
    _probe(ancestor, path, option, directory=ancestor != path.parent or what == "directory")


def _probe(folder: Path, path: Path, option: str, *, directory: bool) -> None:
    """Create and remove a scratch file (or directory) in ``folder``, as the write will."""
    try:
        if directory:
            os.rmdir(tempfile.mkdtemp(prefix=".fds-check-", dir=folder))
        else:
            with tempfile.NamedTemporaryFile(prefix=".fds-check-", dir=folder):
                pass
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write {path}: cannot create a {'directory' if directory else 'file'} in "
            f"{folder} ({error.strerror}); {_FIX}",
            param_hint=option,
        ) from error
