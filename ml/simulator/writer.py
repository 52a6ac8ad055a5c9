"""Writing simulated frames as a PaySim CSV."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ml.schema import PAYSIM_COLUMNS

logger = logging.getLogger(__name__)


def write_paysim_csv(frames: Iterable[pd.DataFrame], path: str | Path) -> int:
    """Write ``frames`` to ``path`` as one PaySim CSV, frame after frame; return the row count.

    Numbers are written as PaySim's file writes them: whole numbers without a fraction
    (``step``, the labels) and amounts in their shortest form (``181.0``, ``35063.63``). The
    file is written in place, one frame at a time, so memory does not grow with its length.

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    written = 0
    with path.open("w", newline="") as handle:
        handle.write(",".join(PAYSIM_COLUMNS) + "\n")
        for frame in frames:
            frame.to_csv(handle, header=False, index=False, lineterminator="\n")
            written += len(frame)
    logger.info("wrote %d simulated rows to %s", written, path)
    return written
