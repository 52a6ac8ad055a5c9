"""What explaining frauds costs the consumer: a batch's compute with and without flagged rows.

The consumer scores a whole batch, then explains only the rows it flagged, all together, from
the model's table of SHAP values per leaf (``app.consumer.processor``, ``ml.contributions``).
This times building that table, then those same steps on one thread, without AWS, for a batch
with no flagged row and with some, and one flagged row explained alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import cycle, islice
from typing import Final

import numpy as np

from app.consumer.decisions import scoring_columns
from app.records import Transaction
from ml.contributions import prepare
from ml.explain import explain
from ml.features import build_features
from ml.model import FraudModel

logger = logging.getLogger(__name__)

#: Flagged rows per batch measured: none (most batches), one, and bursts of takeovers (PaySim's
#: night hours are mostly fraud).
FLAGGED_COUNTS: Final = (0, 1, 10, 50)
_BATCH_REPEATS: Final = 200
_SINGLE_REPEATS: Final = 500


@dataclass(frozen=True)
class BatchCost:
    """Time to score a batch and explain its flagged rows, in ms."""

    flagged: int
    ms_p50: float
    ms_p99: float


@dataclass(frozen=True)
class ExplanationCost:
    batch_size: int
    #: Building the model's table of SHAP values per leaf, once at the consumer's start, in s.
    prepare_seconds: float
    batches: list[BatchCost]
    #: One flagged row explained alone (features built, SHAP values, words), in ms.
    single_ms_p50: float
    single_ms_p99: float


def measure_explanations(
    model: FraudModel, transactions: list[Transaction], batch_size: int = 500
) -> ExplanationCost | None:
    """Time batches of ``batch_size`` holding each of ``FLAGGED_COUNTS`` flagged rows.

    The flagged and the normal rows are taken from ``transactions`` by the model's own
    threshold (repeated when there are too few). Returns None when ``transactions`` holds no
    row the model flags, or none it does not: there is nothing to compare.
    """
    scores = model.score(scoring_columns(transactions))
    flagged = [
        tx for tx, score in zip(transactions, scores, strict=True) if score >= model.threshold
    ]
    normal = [tx for tx, score in zip(transactions, scores, strict=True) if score < model.threshold]
    if not flagged or not normal:
        logger.warning("no explanation figures: the sample needs flagged and normal rows")
        return None

    started = time.perf_counter()
    prepare(model)
    prepare_seconds = round(time.perf_counter() - started, 2)

    batches = []
    for wanted in FLAGGED_COUNTS:
        count = min(wanted, batch_size)
        batch = list(islice(cycle(flagged), count)) + list(
            islice(cycle(normal), batch_size - count)
        )
        # Spread the flagged rows through the batch, as they come on the stream.
        batch = [batch[i] for i in np.random.default_rng(count).permutation(len(batch))]
        times = _timed(partial(_score_and_explain, model, batch), _BATCH_REPEATS)
        batches.append(BatchCost(count, *_percentiles(times)))

    one = flagged[:1]
    single = _timed(lambda: explain(model, build_features(scoring_columns(one))), _SINGLE_REPEATS)
    return ExplanationCost(batch_size, prepare_seconds, batches, *_percentiles(single))


def _score_and_explain(model: FraudModel, batch: list[Transaction]) -> None:
    """What the processor computes per batch: scores, then the flagged rows' reasons."""
    scores = model.score(scoring_columns(batch))
    flagged = [tx for tx, score in zip(batch, scores, strict=True) if score >= model.threshold]
    if flagged:
        explain(model, build_features(scoring_columns(flagged)))


def _timed(step: Callable[[], object], repeats: int) -> np.ndarray:
    step()  # CatBoost's first call of a kind sets up; it is not what a batch costs
    times = np.empty(repeats)
    for i in range(repeats):
        started = time.perf_counter()
        step()
        times[i] = time.perf_counter() - started
    return times


def _percentiles(seconds: np.ndarray) -> tuple[float, float]:
    return (
        round(float(np.percentile(seconds, 50)) * 1000, 3),
        round(float(np.percentile(seconds, 99)) * 1000, 3),
    )
