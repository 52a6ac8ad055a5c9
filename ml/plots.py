"""The model card's plots, as PNG files written with matplotlib.

matplotlib comes with the ``ml`` extra, which the consumer's image leaves out: it is imported
here only, when a card is written, and its absence is reported before training starts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
from sklearn.metrics import precision_recall_curve

from ml.errors import PlottingUnavailableError

logger = logging.getLogger(__name__)

PR_CURVE_FILE: Final = "precision_recall.png"
SCORES_FILE: Final = "score_distribution.png"
IMPORTANCE_FILE: Final = "feature_importance.png"


def require_pyplot() -> Any:
    """matplotlib's pyplot, on the file-only Agg backend.

    Raises:
        PlottingUnavailableError: matplotlib is not installed.
    """
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError as error:
        raise PlottingUnavailableError(
            f"fds train writes plots into the model card and needs matplotlib ({error}): "
            "install the ml extra, e.g. `pip install -e '.[ml]'`"
        ) from error


def write_plots(
    out_dir: Path,
    labels: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    threshold: float,
    importance: Mapping[str, float],
) -> list[str]:
    """Write the three plots of the validation rows into ``out_dir``; return their file names.

    Raises:
        PlottingUnavailableError: matplotlib is not installed.
    """
    plt = require_pyplot()

    figure, axes = plt.subplots(figsize=(6, 4.5))
    precision, recall, _ = precision_recall_curve(labels, scores, sample_weight=weights)
    axes.step(recall, precision, where="post")
    flagged = scores >= threshold
    fraud = labels == 1
    at_recall = weights[flagged & fraud].sum() / max(weights[fraud].sum(), 1e-12)
    at_precision = weights[flagged & fraud].sum() / max(weights[flagged].sum(), 1e-12)
    axes.plot([at_recall], [at_precision], "o", label=f"threshold {threshold:.3f}")
    axes.set(xlabel="recall (weighted)", ylabel="precision (weighted)", ylim=(0, 1.02))
    axes.set_title("Precision-recall, validation steps")
    axes.legend(loc="lower left")
    _save(plt, figure, out_dir / PR_CURVE_FILE)

    figure, axes = plt.subplots(figsize=(6, 4.5))
    bins = np.linspace(0.0, 1.0, 41)
    for label, name in ((0, "legit"), (1, "fraud")):
        rows = labels == label
        # Shares within each class, so that 500 frauds show beside millions of legit rows.
        share = weights[rows] / max(weights[rows].sum(), 1e-12)
        axes.hist(scores[rows], bins=bins, weights=share, alpha=0.6, label=name)
    axes.axvline(threshold, color="black", linestyle="--", label="threshold")
    axes.set(xlabel="fraud score", ylabel="share of the class (log scale)", yscale="log")
    axes.set_title("Scores per class, validation steps")
    axes.legend()
    _save(plt, figure, out_dir / SCORES_FILE)

    figure, axes = plt.subplots(figsize=(6, 5))
    ranked = sorted(importance.items(), key=lambda item: item[1])
    axes.barh([name for name, _ in ranked], [value for _, value in ranked])
    axes.set(xlabel="CatBoost importance (prediction change, sums to 100)")
    axes.set_title("Feature importance")
    _save(plt, figure, out_dir / IMPORTANCE_FILE)
    return [PR_CURVE_FILE, SCORES_FILE, IMPORTANCE_FILE]


def _save(plt: Any, figure: Any, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    logger.info("plot written to %s", path)
