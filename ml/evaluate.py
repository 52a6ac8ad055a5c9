"""Scoring a labelled PaySim file with a model and measuring how well it separates fraud."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ml.data import PaysimData
from ml.metrics import BOOTSTRAP_RESAMPLES, bootstrap_intervals, classification_metrics
from ml.model import FraudModel

logger = logging.getLogger(__name__)


def evaluate_model(
    model: FraudModel, data: PaysimData, *, resamples: int = BOOTSTRAP_RESAMPLES
) -> dict[str, Any]:
    """Score every row on its own and report the metrics at the model's threshold.

    The report holds AUPRC, ROC-AUC, precision and recall at the threshold, recall at precision
    0.99, the fraud amount caught and missed, and under ``intervals`` the 90 % bootstrap
    intervals of AUPRC and recall (resampling whole steps; ``resamples`` of them, seeded, so
    the same file gives the same report). Every figure is weighted when ``data`` has weights.
    """
    scores = model.score(data.frame)
    amounts = data.frame["amount"].to_numpy(dtype=np.float64)
    report = classification_metrics(data.labels, scores, model.threshold, data.weights, amounts)
    report["intervals"] = bootstrap_intervals(
        data.labels,
        scores,
        model.threshold,
        data.frame["step"].to_numpy(),
        data.weights,
        resamples=resamples,
    )
    steps = data.frame["step"]
    report.update(
        weighted=data.weights is not None,
        steps=[int(steps.min()), int(steps.max())],
        model_version=model.version,
        bad_rows_left_out=data.bad_row_count,
        data_sha256=data.fingerprint,
    )
    logger.info(
        "model %s on %d rows: AUPRC %s, precision %s, recall %s",
        model.version,
        report["rows"],
        report["auprc"],
        report["precision"],
        report["recall"],
    )
    return report
