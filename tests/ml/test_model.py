"""Tests for loading and applying the fraud model (``ml.model``)."""

from __future__ import annotations

import json
import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, CatBoostRegressor, Pool

from ml.errors import ModelError
from ml.features import FEATURE_NAMES, build_features
from ml.model import (
    DEFAULT_MODEL_DIR,
    METADATA_FILE,
    MODEL_FILE,
    FraudModel,
    ModelMetadata,
    load_model,
    model_version,
)
from ml.simulator import simulate_transactions


@pytest.fixture(scope="module")
def synthetic_frame() -> pd.DataFrame:
    return pd.DataFrame(
        list(islice(simulate_transactions(seed=3, fraud_rate=0.05, rows_per_step=500.0), 1500))
    )


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A copy of the shipped model directory that a test may spoil."""
    return Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "model"))


def tiny_classifier(features: np.ndarray, labels: np.ndarray, names: list[str]):
    classifier = CatBoostClassifier(
        iterations=20,
        depth=3,
        random_seed=1,
        verbose=False,
        allow_writing_files=False,
        thread_count=1,
    )
    classifier.fit(Pool(features, labels, feature_names=names))
    return classifier


def classifier_version(classifier: CatBoostClassifier, scratch: Path) -> str:
    """The version ``load_model`` expects in model.json for this classifier's saved bytes."""
    scratch_file = scratch / "version-of.cbm"
    classifier.save_model(str(scratch_file))
    return model_version(scratch_file)


def test_load_model_default_scores_a_takeover_far_above_a_payment(
    model: FraudModel, make_fraud_row, make_row
) -> None:
    # Given a drained TRANSFER to an empty mule and a small PAYMENT to a merchant
    takeover = make_fraud_row(amount=181_000.0)
    payment = make_row(amount=12.5, oldbalanceOrg=5000.0)

    # When the shipped model scores both
    fraud_score, payment_score = model.score(pd.DataFrame([takeover, payment]))

    # Then the takeover is flagged and the payment is not, by a wide margin
    assert fraud_score >= model.threshold, f"takeover {takeover} scored {fraud_score}"
    assert payment_score < model.threshold, f"payment {payment} scored {payment_score}"
    assert fraud_score > 0.9 and payment_score < 0.01, (fraud_score, payment_score)


def test_load_model_default_has_version_threshold_and_feature_names(model: FraudModel) -> None:
    assert model.version.startswith("cb-"), f"version {model.version}"
    assert 0.0 < model.threshold < 1.0, f"threshold {model.threshold}"
    assert model.metadata.feature_names == list(FEATURE_NAMES)


def test_load_model_default_version_names_its_classifier_bytes(model: FraudModel) -> None:
    assert model.version == model_version(DEFAULT_MODEL_DIR / MODEL_FILE), (
        f"shipped model.json says {model.version}"
    )


def test_load_model_classifier_of_another_model_is_refused(
    model_copy: Path, synthetic_frame: pd.DataFrame
) -> None:
    # Given another classifier, with the same features, saved next to the shipped model.json
    other = tiny_classifier(
        build_features(synthetic_frame), synthetic_frame["isFraud"].to_numpy(), list(FEATURE_NAMES)
    )
    other.save_model(str(model_copy / MODEL_FILE))

    # When / Then loading it fails, naming both files
    with pytest.raises(ModelError, match="do not belong together") as raised:
        load_model(model_copy)
    message = str(raised.value)
    assert str(model_copy / MODEL_FILE) in message, f"message: {message}"
    assert str(model_copy / METADATA_FILE) in message, f"message: {message}"
    assert "fds train" in message, f"message: {message}"


def test_fraud_model_score_of_no_rows_is_empty(model: FraudModel) -> None:
    scores = model.score_features(np.empty((0, len(FEATURE_NAMES))))
    assert scores.shape == (0,)


def test_fraud_model_feeds_columns_by_name_not_position(synthetic_frame: pd.DataFrame) -> None:
    # Given a classifier trained with the features in a shuffled order
    features = build_features(synthetic_frame)
    labels = synthetic_frame["isFraud"].to_numpy()
    order = np.random.default_rng(5).permutation(len(FEATURE_NAMES))
    shuffled_names = [FEATURE_NAMES[i] for i in order]
    assert shuffled_names != list(FEATURE_NAMES)
    classifier = tiny_classifier(features[:, order], labels, shuffled_names)
    model = FraudModel(classifier, ModelMetadata("test", shuffled_names, 0.5))

    # When FraudModel scores the frame
    scores = model.score(synthetic_frame)

    # Then it equals predicting with the columns in the classifier's own order
    expected = classifier.predict_proba(features[:, order])[:, 1]
    np.testing.assert_allclose(scores, expected, err_msg="columns were not fed by name")
    # And feeding the builder's order by position would have given other scores
    by_position = classifier.predict_proba(features)[:, 1]
    assert not np.allclose(by_position, expected), "the shuffle must matter for this test"


def test_fraud_model_save_and_load_keep_the_feature_order(
    synthetic_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # Given a model saved with shuffled feature names
    features = build_features(synthetic_frame)
    labels = synthetic_frame["isFraud"].to_numpy()
    order = np.arange(len(FEATURE_NAMES))[::-1]
    names = [FEATURE_NAMES[i] for i in order]
    classifier = tiny_classifier(features[:, order], labels, names)
    version = classifier_version(classifier, tmp_path)
    saved = FraudModel(classifier, ModelMetadata(version, names, 0.3))
    saved.save(tmp_path / "reversed")

    # When it is loaded back
    loaded = load_model(tmp_path / "reversed")

    # Then it scores exactly as before
    np.testing.assert_allclose(loaded.score(synthetic_frame), saved.score(synthetic_frame))
    assert loaded.threshold == 0.3 and loaded.version == version


def test_fraud_model_rejects_a_classifier_with_unknown_features(
    synthetic_frame: pd.DataFrame,
) -> None:
    features = build_features(synthetic_frame)[:, :3]
    classifier = tiny_classifier(
        features,
        synthetic_frame["isFraud"].to_numpy(),
        ["type_CASH_IN", "type_CASH_OUT", "velocity"],
    )

    with pytest.raises(ModelError, match="velocity"):
        FraudModel(classifier, ModelMetadata("x", ["velocity"], 0.5))


def test_load_model_missing_directory_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-model"

    with pytest.raises(ModelError) as raised:
        load_model(missing)

    assert str(missing / MODEL_FILE) in str(raised.value), f"message: {raised.value}"


def test_load_model_a_file_instead_of_a_directory_says_to_give_a_directory(
    tmp_path: Path,
) -> None:
    given = tmp_path / "small.csv"
    given.write_text("step,type\n")

    with pytest.raises(ModelError, match=r"small\.csv is a file: point --model at a model dir"):
        load_model(given)


def test_load_model_missing_metadata_names_the_file(model_copy: Path) -> None:
    (model_copy / METADATA_FILE).unlink()

    with pytest.raises(ModelError, match=METADATA_FILE) as raised:
        load_model(model_copy)

    assert str(model_copy / METADATA_FILE) in str(raised.value)


def test_load_model_corrupt_classifier_file_names_it(model_copy: Path) -> None:
    (model_copy / MODEL_FILE).write_bytes(b"this is not a CatBoost model\x00\x01")

    with pytest.raises(ModelError) as raised:
        load_model(model_copy)

    assert str(model_copy / MODEL_FILE) in str(raised.value), f"message: {raised.value}"


def test_load_model_corrupt_metadata_names_it(model_copy: Path) -> None:
    (model_copy / METADATA_FILE).write_text("{not json")

    with pytest.raises(ModelError) as raised:
        load_model(model_copy)

    assert str(model_copy / METADATA_FILE) in str(raised.value), f"message: {raised.value}"


@pytest.mark.parametrize("key", ["version", "feature_names", "threshold"])
def test_load_model_metadata_missing_a_key_names_the_key_and_how_to_fix(
    model_copy: Path, key: str
) -> None:
    # Given a model description with one required key removed
    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    del metadata[key]
    (model_copy / METADATA_FILE).write_text(json.dumps(metadata))

    # When it is loaded
    with pytest.raises(ModelError) as raised:
        load_model(model_copy)

    # Then the error names the missing key and says to retrain
    assert f"lacks the key '{key}'" in str(raised.value), f"message: {raised.value}"
    assert "fds train" in str(raised.value), f"no fix given: {raised.value}"


def test_load_model_regressor_is_refused_naming_the_file(
    model_copy: Path, synthetic_frame: pd.DataFrame
) -> None:
    # Given a regressor with the right feature names saved as the model
    regressor = CatBoostRegressor(iterations=5, depth=2, verbose=False, allow_writing_files=False)
    regressor.fit(
        Pool(
            build_features(synthetic_frame),
            synthetic_frame["isFraud"].to_numpy(),
            feature_names=list(FEATURE_NAMES),
        )
    )
    regressor.save_model(str(model_copy / MODEL_FILE))

    # When / Then loading it fails, naming the file and the loss it was trained with
    with pytest.raises(ModelError, match="RMSE") as raised:
        load_model(model_copy)
    assert str(model_copy / MODEL_FILE) in str(raised.value), f"message: {raised.value}"


def test_load_model_metadata_with_other_features_is_refused(model_copy: Path) -> None:
    # Given model.json listing the features in another order than model.cbm holds
    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    metadata["feature_names"] = list(reversed(metadata["feature_names"]))
    (model_copy / METADATA_FILE).write_text(json.dumps(metadata))

    # When / Then
    with pytest.raises(ModelError, match="other features") as raised:
        load_model(model_copy)
    assert str(model_copy / METADATA_FILE) in str(raised.value), f"message: {raised.value}"


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.2, 1.5])
def test_load_model_threshold_outside_zero_one_is_refused(
    model_copy: Path, threshold: float
) -> None:
    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    metadata["threshold"] = threshold
    (model_copy / METADATA_FILE).write_text(json.dumps(metadata))

    with pytest.raises(ModelError, match="threshold") as raised:
        load_model(model_copy)
    assert str(model_copy / METADATA_FILE) in str(raised.value)


def test_model_version_is_the_same_for_two_trainings_of_the_same_data(
    synthetic_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # Given the same data trained twice with one seed, and once with another
    features, labels = build_features(synthetic_frame), synthetic_frame["isFraud"].to_numpy()
    files = []
    for run, seed in enumerate((1, 1, 2)):
        classifier = CatBoostClassifier(
            iterations=20, depth=3, random_seed=seed, verbose=False, allow_writing_files=False
        )
        classifier.fit(Pool(features, labels, feature_names=list(FEATURE_NAMES)))
        files.append(tmp_path / f"run{run}.cbm")
        classifier.save_model(str(files[-1]))

    # Then the two files of one seed differ in bytes (CatBoost's random model_guid) but not in
    # version, and the other seed's model has a version of its own
    assert files[0].read_bytes() != files[1].read_bytes()
    assert model_version(files[0]) == model_version(files[1])
    assert model_version(files[2]) != model_version(files[0])


def test_model_version_of_a_file_that_is_not_a_model_names_it(tmp_path: Path) -> None:
    spoilt = tmp_path / MODEL_FILE
    spoilt.write_bytes(b"not a model")

    with pytest.raises(ModelError, match="is not a CatBoost model") as raised:
        model_version(spoilt)
    assert str(spoilt) in str(raised.value)
