"""Retired: the built-in source is now ``ml.simulator``; this name forwards to it.

The small independent-rows generator that lived here was replaced by the PaySim-faithful
simulator. ``synthetic_transactions`` remains only for code not yet moved to
``ml.simulator.simulate_transactions``, which it calls with the arguments mapped: ``fraud_rate``
is now the share of fraud rows (PaySim's night hours hold several times that share), and
``retry_after_block`` is the simulator's demo-only ``retry_share``. New code should call the
simulator directly; once nothing imports this module it can be deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from ml.simulator import simulate_transactions

logger = logging.getLogger(__name__)

#: The retired generator's steps held 500 rows; the simulator's mean step keeps that size here.
ROWS_PER_STEP = 500.0


def synthetic_transactions(
    *, seed: int | None = None, fraud_rate: float = 0.02, retry_after_block: float = 0.5
) -> Iterator[dict[str, object]]:
    """Simulated PaySim rows without end; see ``ml.simulator.simulate_transactions``.

    Raises:
        ml.simulator.SimulationError: a share is out of range.
    """
    return simulate_transactions(
        seed=seed,
        fraud_rate=fraud_rate,
        rows_per_step=ROWS_PER_STEP,
        retry_share=retry_after_block,
    )
