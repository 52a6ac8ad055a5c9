"""Scoring a labelled PaySim file with a model and measuring how well it separates fraud."""

from __future__ import annotations

from typing import Any

from ml.data import PaysimData
from ml.metrics import classification_metrics
from ml.model import FraudModel


def evaluate_model(model: FraudModel, data: PaysimData) -> dict[str, Any]:
    """Score every row on its own and report the metrics at the model's threshold."""
    scores = model.score(data.frame)
    report = classification_metrics(data.labels, scores, model.threshold, data.weights)
    report.update(
        weighted=data.weights is not None,
        model_version=model.version,
        bad_rows_left_out=data.bad_row_count,
        data_sha256=data.fingerprint,
    )
    return report
