"""The model artifact: a CatBoost classifier with its feature names, threshold and provenance.

A model directory holds ``model.cbm`` (CatBoost's own format) and ``model.json`` (everything
else). The consumer loads it once and scores batches; it feeds columns by the names the model
was trained with, never by position, because CatBoost takes a plain matrix in whatever order it
is given.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from catboost import CatBoostClassifier, CatBoostError

from ml.errors import ModelError
from ml.features import FEATURE_NAMES, FloatMatrix, build_features

logger = logging.getLogger(__name__)

MODEL_FILE: Final = "model.cbm"
METADATA_FILE: Final = "model.json"

#: The model trained on real PaySim rows that ships with FDS.
DEFAULT_MODEL_DIR: Final = Path(__file__).parent / "models" / "default"

#: Loss functions of a binary classifier; anything else does not give fraud probabilities.
_CLASSIFIER_LOSSES: Final = frozenset({"Logloss", "CrossEntropy"})


@dataclass
class ModelMetadata:
    """What ``model.json`` records next to the classifier."""

    version: str
    feature_names: list[str]
    threshold: float
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


class FraudModel:
    """A loaded classifier that turns transactions into fraud scores."""

    def __init__(self, classifier: CatBoostClassifier, metadata: ModelMetadata) -> None:
        names = list(classifier.feature_names_ or [])
        unknown = [name for name in names if name not in FEATURE_NAMES]
        if unknown:
            raise ModelError(
                f"the model expects feature(s) {unknown} that this code does not build: retrain "
                "it with `fds train` on this version of FDS"
            )
        self.classifier = classifier
        self.metadata = metadata
        # Column indices of the built matrix in the model's own feature order.
        self._column_order = np.array([FEATURE_NAMES.index(name) for name in names])

    @property
    def version(self) -> str:
        return self.metadata.version

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    def score_features(self, features: FloatMatrix) -> np.ndarray:
        """Fraud probability per row of a matrix built by ``build_features``."""
        if len(features) == 0:
            return np.empty(0)
        ordered = features[:, self._column_order]
        return np.asarray(
            self.classifier.predict(ordered, prediction_type="Probability", thread_count=1)
        )[:, 1]

    def score(self, columns: object) -> np.ndarray:
        """Fraud probability per transaction of a frame or a mapping of columns."""
        return self.score_features(build_features(columns))  # type: ignore[arg-type]

    def warm_up(self) -> None:
        """Score one row so that CatBoost's first-call set-up is not paid by a transaction."""
        self.score_features(np.zeros((1, len(FEATURE_NAMES))))

    def save(self, directory: Path) -> None:
        """Write both files; the version is set anew from the classifier file written."""
        directory.mkdir(parents=True, exist_ok=True)
        self.classifier.save_model(str(directory / MODEL_FILE))
        self.metadata.version = model_version(directory / MODEL_FILE)
        payload = {
            "version": self.metadata.version,
            "feature_names": self.metadata.feature_names,
            "threshold": self.metadata.threshold,
            "metrics": self.metadata.metrics,
            "training": self.metadata.training,
        }
        (directory / METADATA_FILE).write_text(json.dumps(payload, indent=2) + "\n")


#: Keys of the model's metadata that differ between two trainings of the same data with the
#: same seed: CatBoost draws a random ``model_guid`` for every model it trains and stamps the
#: time training finished. Neither changes a score, so neither takes part in the version.
_UNREPRODUCIBLE_METADATA: Final = ("model_guid", "train_finish_time")


def model_version(model_file: Path) -> str:
    """A version that names the classifier's content, so two different models never share it
    and retraining on the same data with the same seed gives the same one.

    CatBoost stamps a random ``model_guid`` into every model it trains, and ``model.cbm``'s
    bytes change across a load and a save even without it, so the bytes cannot name a model
    reproducibly. The version hashes the model's JSON
    export instead (trees, borders, parameters and metadata, keys sorted), less the metadata
    in ``_UNREPRODUCIBLE_METADATA``. The file is loaded first, so a model is hashed as it was
    saved, whichever process saved it.

    Raises:
        ModelError: the file is not a CatBoost model.
    """
    classifier = CatBoostClassifier()
    try:
        classifier.load_model(str(model_file))
    except CatBoostError as error:
        raise ModelError(f"{model_file} is not a CatBoost model: {error}") from error
    with tempfile.TemporaryDirectory(prefix="fds-model-") as folder:
        exported = Path(folder) / "model.json"
        classifier.save_model(str(exported), format="json")
        content = json.loads(exported.read_text())
    info = content.get("model_info", {})
    for key in _UNREPRODUCIBLE_METADATA:
        info.pop(key, None)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "cb-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_model(directory: str | Path | None = None) -> FraudModel:
    """Load a model directory (the shipped default when ``None``).

    Raises:
        ModelError: the directory or a file is missing, the classifier file is corrupt or not a
            binary classifier, its features differ from those this code builds, or it is not
            the classifier whose version ``model.json`` records.
    """
    directory = Path(directory) if directory else DEFAULT_MODEL_DIR
    if directory.is_file():
        raise ModelError(
            f"{directory} is a file: point --model at a model directory (one `fds train --out` "
            "wrote, holding model.cbm and model.json)"
        )
    model_file, metadata_file = directory / MODEL_FILE, directory / METADATA_FILE
    for needed in (model_file, metadata_file):
        if not needed.is_file():
            raise ModelError(
                f"model file {needed} not found: train one with "
                f"`fds train --data CSV --out {directory}` or point --model at a model directory"
            )

    try:
        raw = json.loads(metadata_file.read_text())
        metadata = ModelMetadata(
            version=str(raw["version"]),
            feature_names=[str(name) for name in raw["feature_names"]],
            threshold=float(raw["threshold"]),
            metrics=dict(raw.get("metrics", {})),
            training=dict(raw.get("training", {})),
        )
    except KeyError as error:
        raise ModelError(
            f"{metadata_file} is not a valid model description: it lacks the key {error}; "
            f"retrain with `fds train --data CSV --out {directory}`"
        ) from error
    except (ValueError, TypeError) as error:
        raise ModelError(f"{metadata_file} is not a valid model description: {error}") from error

    classifier = CatBoostClassifier()
    try:
        classifier.load_model(str(model_file))
    except CatBoostError as error:
        raise ModelError(f"{model_file} is not a CatBoost model: {error}") from error

    loss = str(classifier.get_all_params().get("loss_function", ""))
    if loss not in _CLASSIFIER_LOSSES:
        raise ModelError(
            f"{model_file} was trained with loss {loss!r}, not as a binary classifier: "
            "retrain it with `fds train`"
        )
    if list(classifier.feature_names_ or []) != metadata.feature_names:
        raise ModelError(
            f"{metadata_file} lists other features than {model_file} holds: the two files do "
            "not belong together; retrain with `fds train`"
        )
    if not 0.0 < metadata.threshold < 1.0:
        raise ModelError(f"{metadata_file}: threshold {metadata.threshold} is not within (0, 1)")
    # The version names the classifier's content (see model_version): a model.cbm swapped in
    # next to another model's model.json would be scored with the other model's threshold and
    # reported under its version.
    actual_version = model_version(model_file)
    if metadata.version != actual_version:
        raise ModelError(
            f"{metadata_file} describes model {metadata.version} but {model_file} is model "
            f"{actual_version}: the two files do not belong together; retrain with `fds train`"
        )

    model = FraudModel(classifier, metadata)
    logger.info(
        "model %s loaded from %s (threshold %.4f)", model.version, directory, model.threshold
    )
    return model
