"""Writing simulated frames as a PaySim CSV."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import pandas as pd

from ml.schema import PAYSIM_COLUMNS

logger = logging.getLogger(__name__)


def write_paysim_csv(frames: Iterable[pd.DataFrame], path: str | Path) -> int:
    """Write ``frames`` to ``path`` as one PaySim CSV, frame after frame; return the row count.

    Numbers are written as PaySim's file writes them: whole numbers without a fraction
    (``step``, the labels) and amounts in their shortest form (``181.0``, ``35063.63``). The
    file is written one frame at a time, so memory does not grow with its length.

    A regular file is written under a temporary name beside it (``.NAME.XXXXXXXX.partial``)
    and renamed to ``path`` only once every row is written; when the write fails or is
    interrupted, the temporary file is removed, so ``path`` never holds a file that looks
    complete but is not, and a file already there is left as it was. A device or a pipe
    (``/dev/stdout``) cannot be replaced by a rename, so it is written to directly.

    Raises:
        OSError: the file cannot be written (a missing folder, no permission, a full disk).
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        with target.open("w", newline="") as handle:
            written = _write(frames, handle)
    else:
        # A link is followed, so the file it points to is replaced and the link stays.
        target = target.resolve()
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:
            # Mode "x": a new file, with the permissions the umask gives, never another's.
            with partial.open("x", newline="") as handle:
                written = _write(frames, handle)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    logger.info("wrote %d simulated rows to %s", written, path)
    return written


def _write(frames: Iterable[pd.DataFrame], handle: TextIO) -> int:
    handle.write(",".join(PAYSIM_COLUMNS) + "\n")
    written = 0
    for frame in frames:
        frame.to_csv(handle, header=False, index=False, lineterminator="\n")
        written += len(frame)
    return written
