"""Tests for the retired ``app.sources.synthetic``, which forwards to ``ml.simulator``."""

from __future__ import annotations

from itertools import islice

import pytest

from app.sources.synthetic import ROWS_PER_STEP, synthetic_transactions
from ml.simulator import SimulationError, simulate_transactions


def test_synthetic_transactions_are_the_simulator_rows_with_the_old_step_size() -> None:
    old = list(islice(synthetic_transactions(seed=4, fraud_rate=0.05, retry_after_block=0.5), 2000))
    new = list(
        islice(
            simulate_transactions(
                seed=4, fraud_rate=0.05, rows_per_step=ROWS_PER_STEP, retry_share=0.5
            ),
            2000,
        )
    )

    assert old == new


def test_synthetic_transactions_refuse_a_bad_share_at_the_call() -> None:
    with pytest.raises(SimulationError, match="retry_share"):
        synthetic_transactions(seed=1, retry_after_block=2.0)
