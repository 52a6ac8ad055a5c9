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
    Under ``notes``, one sentence for each figure that cannot be computed, saying why (no
    fraud, no legit row, every weight 0, nothing flagged), so an n/a is never left unexplained.
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
        notes=missing_figure_notes(data.labels, scores >= model.threshold, data.weights),
    )
    for note in report["notes"]:
        logger.warning("%s", note)
    logger.info(
        "model %s on %d rows: AUPRC %s, precision %s, recall %s",
        model.version,
        report["rows"],
        report["auprc"],
        report["precision"],
        report["recall"],
    )
    return report


def missing_figure_notes(
    labels: np.ndarray, flagged: np.ndarray, weights: np.ndarray | None
) -> list[str]:
    """Why each figure that cannot be computed on these rows is n/a, one sentence a cause."""
    weights = np.ones(len(labels)) if weights is None else weights
    fraud = labels == 1
    notes: list[str] = []
    if not float(weights.sum()) > 0.0:
        return [
            "every row of the measured steps has weight 0: no figure can be computed; give "
            "positive weights or choose another weights column"
        ]
    if not fraud.any():
        notes.append(
            "no fraud rows in the measured steps: AUPRC, ROC-AUC, recall, recall at precision "
            "0.99 and their intervals cannot be computed; measure steps that hold fraud"
        )
    elif not float(weights[fraud].sum()) > 0.0:
        notes.append(
            "every fraud row of the measured steps has weight 0: AUPRC, ROC-AUC, recall, recall "
            "at precision 0.99 and their intervals cannot be computed; give them positive weights"
        )
    if not float(weights[~fraud].sum()) > 0.0:
        notes.append(
            "no legit row with a positive weight in the measured steps: AUPRC, ROC-AUC and "
            "recall at precision 0.99 cannot be computed"
        )
    if not float(weights[flagged].sum()) > 0.0:
        notes.append(
            "no row with a positive weight scores at or above the threshold: precision cannot "
            "be computed"
        )
    return notes
