"""Replaying a PaySim CSV as a stream of transactions, in step order."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from app.records import problem_with
from ml.data import read_paysim
from ml.schema import PAYSIM_COLUMNS

logger = logging.getLogger(__name__)

#: Rows refused by the stream's schema that are logged one by one; the rest are counted.
_REFUSALS_SHOWN = 5


def replay_csv(path: str | Path) -> Iterator[dict[str, object]]:
    """Yield the valid rows of a PaySim CSV in step order (file order within a step).

    Rows that do not parse are reported by the reader and left out, and so are rows the
    stream's schema would refuse (an account id of the wrong form, an amount below a cent):
    each is logged with its sender and step. Columns beyond PaySim's (such as a sample weight)
    are dropped, since the stream carries transactions only.

    Raises:
        ml.errors.DataFormatError: the file is missing or is not a PaySim CSV.
    """
    frame = read_paysim(path).frame
    # A stable sort keeps the file's order inside each step; the files here are mostly sorted.
    frame = frame.sort_values("step", kind="stable")[list(PAYSIM_COLUMNS)]
    logger.info("replaying %d rows of %s", len(frame), path)
    refused = 0
    for row in frame.itertuples(index=False):
        transaction: dict[str, object] = {
            "step": int(row.step),
            "type": str(row.type),
            "amount": float(row.amount),
            "nameOrig": str(row.nameOrig),
            "oldbalanceOrg": float(row.oldbalanceOrg),
            "newbalanceOrig": float(row.newbalanceOrig),
            "nameDest": str(row.nameDest),
            "oldbalanceDest": float(row.oldbalanceDest),
            "newbalanceDest": float(row.newbalanceDest),
            "isFraud": int(row.isFraud),
            "isFlaggedFraud": int(row.isFlaggedFraud),
        }
        problem = problem_with(transaction)
        if problem is None:
            yield transaction
            continue
        refused += 1
        if refused <= _REFUSALS_SHOWN:
            logger.warning(
                "%s: the row of %s at step %s left out, the stream would refuse it: %s",
                path,
                row.nameOrig,
                row.step,
                problem,
            )
    if refused > _REFUSALS_SHOWN:
        logger.warning(
            "%s: %d more rows left out that the stream would refuse",
            path,
            refused - _REFUSALS_SHOWN,
        )
