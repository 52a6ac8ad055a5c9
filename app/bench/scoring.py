"""Features plus model scoring alone, without AWS: the consumer's compute cost per transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import cycle, islice

import numpy as np

from app.bench.explanations import ExplanationCost, measure_explanations
from app.consumer.decisions import scoring_columns
from app.records import Transaction, encode_record, parse_record
from ml.model import FraudModel
from ml.simulator import simulate_transactions

_SINGLE_REPEATS = 2000


@dataclass(frozen=True)
class ScoringResult:
    batch_size: int
    batches: int
    batch_tps_per_core: float
    single_ms_p50: float
    single_ms_p99: float
    #: Scoring batches with and without flagged rows, and explaining one (None when the sample
    #: holds no flagged row).
    explanations: ExplanationCost | None = None


def sample_transactions(
    count: int, seed: int = 11, rows: Iterable[dict[str, object]] | None = None
) -> list[Transaction]:
    """``count`` transactions, through the same encoding and validation the stream applies.

    From ``rows`` (a PaySim replay, repeated when shorter than ``count``), or else simulated.
    """
    source = simulate_transactions(seed=seed, fraud_rate=0.01) if rows is None else cycle(rows)
    rows = islice(source, count)
    return [
        parse_record(encode_record({"tx_id": f"bench-{i}", **row})) for i, row in enumerate(rows)
    ]


def measure_scoring(
    model: FraudModel,
    batch_size: int = 10_000,
    seconds: float = 3.0,
    rows: Iterable[dict[str, object]] | None = None,
) -> ScoringResult:
    """Score batches for about ``seconds``, then single transactions one by one.

    The transactions come from ``rows`` when given (a PaySim replay), else from the simulator.
    The model scores on one thread (as the consumer does), so batch throughput is per core.
    """
    transactions = sample_transactions(batch_size, rows=rows)
    model.warm_up()
    batches = 0
    spent = 0.0
    while spent < seconds or batches < 3:
        started = time.perf_counter()
        model.score(scoring_columns(transactions))
        spent += time.perf_counter() - started
        batches += 1

    single = np.empty(_SINGLE_REPEATS)
    for i in range(_SINGLE_REPEATS):
        one = [transactions[i % len(transactions)]]
        started = time.perf_counter()
        model.score(scoring_columns(one))
        single[i] = time.perf_counter() - started
    return ScoringResult(
        batch_size=batch_size,
        batches=batches,
        batch_tps_per_core=round(batches * batch_size / spent),
        single_ms_p50=round(float(np.percentile(single, 50)) * 1000, 3),
        single_ms_p99=round(float(np.percentile(single, 99)) * 1000, 3),
        explanations=measure_explanations(model, transactions),
    )
