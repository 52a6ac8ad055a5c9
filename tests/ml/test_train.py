"""Tests for training with a split by time (``ml.train``)."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ml.card import CARD_FILE, render_model_card
from ml.data import read_paysim
from ml.errors import DataFormatError, ModelError, PlottingUnavailableError
from ml.features import FEATURE_NAMES
from ml.model import METADATA_FILE, MODEL_FILE, load_model
from ml.plots import IMPORTANCE_FILE, PR_CURVE_FILE, SCORES_FILE
from ml.schema import PAYSIM_COLUMNS
from ml.train import TrainingOptions, split_step, train_model

SMALL = TrainingOptions(iterations=50, depth=4)


@pytest.fixture
def trained(synthetic_csv, tmp_path: Path):
    """A model trained on 3,000 generated rows (steps 1-6), and the CSV it came from."""
    csv = synthetic_csv(3000, seed=11, fraud_rate=0.05)
    out = tmp_path / "model"
    model = train_model(read_paysim(csv), out, options=SMALL, source=csv.name)
    return model, out, csv


def test_train_model_writes_the_model_and_its_description(trained) -> None:
    # Given a model trained on a small synthetic CSV
    model, out, csv = trained

    # Then the directory holds model.cbm and model.json
    assert (out / MODEL_FILE).is_file(), f"{out / MODEL_FILE} not written"
    metadata = json.loads((out / METADATA_FILE).read_text())

    # And model.json names the features, a threshold inside (0, 1) and the validation metrics
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    assert 0.0 < metadata["threshold"] < 1.0, f"threshold {metadata['threshold']}"
    validation = metadata["metrics"]["validation"]
    for key in ("rows", "frauds", "auprc", "roc_auc", "precision", "recall", "threshold"):
        assert key in validation, f"validation metrics lack {key}: {validation}"
    assert validation["frauds"] > 0 and validation["rows"] > validation["frauds"]

    # And it identifies the data exactly
    training = metadata["training"]
    assert training["data_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert training["data"] == csv.name
    assert training["rows"] == 3000
    assert metadata["version"] == model.version


def test_train_model_validates_on_steps_after_every_training_step(trained) -> None:
    _, out, csv = trained
    training = json.loads((out / METADATA_FILE).read_text())["training"]
    steps = read_paysim(csv).frame["step"].to_numpy()

    first_train, last_train = training["train_steps"]
    first_valid, last_valid = training["validation_steps"]

    assert (first_train, last_valid) == (int(steps.min()), int(steps.max()))
    assert last_train < first_valid, f"train {training['train_steps']} overlaps validation"
    train_rows = steps[steps <= last_train]
    valid_rows = steps[steps >= first_valid]
    assert len(train_rows) and len(valid_rows), "both parts must hold rows"
    assert train_rows.max() < valid_rows.min(), "a validation step is not after every train step"
    assert len(train_rows) + len(valid_rows) == len(steps), "every row is in one part"


def test_train_model_directory_loads_and_scores_like_the_returned_model(trained) -> None:
    model, out, csv = trained
    frame = read_paysim(csv).frame

    loaded = load_model(out)

    assert loaded.version == model.version
    assert loaded.threshold == pytest.approx(model.threshold)
    np.testing.assert_allclose(loaded.score(frame), model.score(frame))


def test_train_model_single_step_cannot_be_split(
    make_row, make_fraud_row, write_csv, tmp_path: Path
) -> None:
    path = write_csv([make_row(step=3), make_fraud_row(step=3)])

    with pytest.raises(DataFormatError, match="step 3"):
        train_model(read_paysim(path), tmp_path / "m", options=SMALL)


def test_train_model_without_fraud_in_validation_is_refused(
    make_row, make_fraud_row, write_csv, tmp_path: Path
) -> None:
    # Given fraud only in the early steps
    rows = [make_row(step=1), make_fraud_row(step=1), make_row(step=2), make_row(step=2)]
    path = write_csv(rows)

    with pytest.raises(DataFormatError, match="validation part"):
        train_model(read_paysim(path), tmp_path / "m", options=SMALL)
    assert not (tmp_path / "m" / MODEL_FILE).exists(), "nothing may be written on a refusal"


@pytest.mark.parametrize(
    ("weights", "kind", "part"),
    [
        ([1.0, 0.0, 1.0, 1.0], "fraud", "training"),
        ([0.0, 1.0, 1.0, 1.0], "legit", "training"),
        ([1.0, 1.0, 1.0, 0.0], "fraud", "validation"),
        ([1.0, 1.0, 0.0, 1.0], "legit", "validation"),
    ],
    ids=["training-fraud", "training-legit", "validation-fraud", "validation-legit"],
)
def test_train_model_class_without_weight_is_refused(
    make_row, make_fraud_row, write_csv, tmp_path: Path, weights, kind: str, part: str
) -> None:
    # Given a legit and a fraud row in steps 1 (training) and 2 (validation), one of them
    # weighted zero
    rows = [make_row(step=1), make_fraud_row(step=1), make_row(step=2), make_fraud_row(step=2)]
    path = write_csv(
        [{**row, "sample_weight": w} for row, w in zip(rows, weights, strict=True)],
        columns=(*PAYSIM_COLUMNS, "sample_weight"),
    )
    data = read_paysim(path, weights_column="sample_weight")

    # When / Then training is refused, naming the class and the part without weight
    with pytest.raises(DataFormatError, match=f"{kind} rows of the {part} steps") as raised:
        train_model(data, tmp_path / "m", options=SMALL, weights_column="sample_weight")
    assert "no weight" in str(raised.value) and "sample_weight" in str(raised.value), (
        f"message: {raised.value}"
    )
    assert not (tmp_path / "m" / MODEL_FILE).exists(), "nothing may be written on a refusal"


@pytest.fixture
def two_step_data(make_row, make_fraud_row, write_csv):
    """Rows that can be split by time: a legit and a fraud row in each of steps 1 and 2."""
    rows = [make_row(step=1), make_fraud_row(step=1), make_row(step=2), make_fraud_row(step=2)]
    return read_paysim(write_csv(rows))


@pytest.mark.parametrize("below", [False, True], ids=["is-a-file", "under-a-file"])
def test_train_model_out_that_is_a_file_is_refused_before_fitting(
    two_step_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, below: bool
) -> None:
    # Given --out naming an existing regular file (or a path under one)
    existing = tmp_path / "model"
    existing.write_text("not a directory\n")
    out = existing / "v2" if below else existing

    # And a fit that would reveal training started
    def fit(*args, **kwargs):
        raise AssertionError(f"training started although --out {out} cannot be written")

    monkeypatch.setattr("ml.train.CatBoostClassifier.fit", fit)

    # When / Then it is refused up front, naming the path, and the file is left as it was
    with pytest.raises(ModelError, match="is a file, not a directory") as raised:
        train_model(two_step_data, out, options=SMALL)
    assert f"--out {out}" in str(raised.value), f"message: {raised.value}"
    assert existing.read_text() == "not a directory\n"


@pytest.mark.parametrize(
    ("steps", "share", "cutoff"),
    [
        ([1, 1, 2, 2, 3, 3, 4, 4, 5, 5], 0.2, 4),
        ([1, 2], 0.2, 1),
        ([1] * 9 + [2], 0.5, 1),
        ([5, 5, 5, 9], 0.9, 5),
    ],
)
def test_split_step_keeps_a_step_on_each_side(steps: list[int], share: float, cutoff: int) -> None:
    assert split_step(np.array(steps), share) == cutoff, f"steps {steps}, share {share}"


def test_train_model_writes_the_model_card_and_its_plots(trained) -> None:
    # Given a model trained on a small synthetic CSV
    model, out, csv = trained

    # Then the card names the version, the data's fingerprint, the split, every feature, the
    # threshold and its cost rule, and the metrics with intervals
    card = (out / CARD_FILE).read_text()
    training = model.metadata.training
    assert card.startswith(f"# Model card: {model.version}")
    assert training["data_sha256"] in card and csv.name in card
    first, last = training["train_steps"]
    assert f"training on steps {first}-{last}" in card, card
    for name in FEATURE_NAMES:
        assert f"| `{name}` |" in card, f"card lacks feature {name}"
    assert f"**{model.threshold:.4f}**" in card
    assert "a missed fraud costs its amount" in card and "--freeze-cost" in card
    assert "| AUPRC |" in card and "90 % interval" in card
    assert "PaySim is a simulation" in card and "The model leans on" in card

    # And the three plots are PNG files the card links
    for name in (PR_CURVE_FILE, SCORES_FILE, IMPORTANCE_FILE):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
        assert f"]({name})" in card, f"card does not link {name}"


def test_train_model_records_the_cost_rule_and_the_feature_importance(trained) -> None:
    model, _, _ = trained
    training = model.metadata.training

    assert training["threshold_choice"]["freeze_cost"] == SMALL.freeze_cost
    assert training["threshold_choice"]["threshold"] == model.threshold
    assert set(training["feature_importance"]) == set(FEATURE_NAMES)
    assert sum(training["feature_importance"].values()) == pytest.approx(100.0)
    intervals = model.metadata.metrics["validation"]["intervals"]
    assert set(intervals) == {"auprc", "recall"}


def test_train_model_without_matplotlib_is_refused_before_fitting(
    two_step_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given matplotlib cannot be imported (the consumer image leaves it out)
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    def fit(*args, **kwargs):
        raise AssertionError("training started although the card cannot be written")

    monkeypatch.setattr("ml.train.CatBoostClassifier.fit", fit)

    # When / Then training is refused with a way out, and nothing is written
    with pytest.raises(PlottingUnavailableError, match=r"install the ml extra"):
        train_model(two_step_data, tmp_path / "m", options=SMALL)
    assert not (tmp_path / "m").exists()


def test_train_model_uses_the_sample_weights(synthetic_csv, tmp_path: Path) -> None:
    # Given the same rows read with and without weights that favour the later legit rows
    csv = synthetic_csv(3000, seed=11, weight=lambda row: 1.0 if row["isFraud"] else 40.0)

    plain = train_model(read_paysim(csv), tmp_path / "a", options=SMALL)
    weighted = train_model(
        read_paysim(csv, weights_column="sample_weight"),
        tmp_path / "b",
        options=SMALL,
        weights_column="sample_weight",
    )

    # Then the fit and its up-weighting of fraud differ
    assert weighted.version != plain.version
    assert weighted.metadata.training["scale_pos_weight"] == pytest.approx(
        plain.metadata.training["scale_pos_weight"] * np.sqrt(40.0)
    )


@pytest.mark.parametrize("freeze_cost", [0.0, -5.0, float("nan")])
def test_train_model_freeze_cost_must_be_positive_before_fitting(
    two_step_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freeze_cost: float
) -> None:
    def fit(*args, **kwargs):
        raise AssertionError("training started with a freeze cost it cannot use")

    monkeypatch.setattr("ml.train.CatBoostClassifier.fit", fit)

    with pytest.raises(ModelError, match="freeze cost"):
        train_model(two_step_data, tmp_path / "m", options=TrainingOptions(freeze_cost=freeze_cost))


def test_train_model_card_counts_have_thousands_separators(trained) -> None:
    # Given the card of a model whose file had 11,795 bad rows and 12,345 validation rows
    model, _, _ = trained
    metrics = {**model.metadata.metrics["validation"], "rows": 12_345, "frauds": 1_234}
    training = {**model.metadata.training, "bad_rows_left_out": 11_795, "rows": 1_234_567}

    card = render_model_card(model.version, model.threshold, metrics, training, [])

    # Then every count is written with its separators
    assert "11,795 bad rows left out" in card, card
    assert "Rows used: 1,234,567 of steps" in card, card
    assert "| rows (frauds) | 12,345 (1,234) | |" in card, card


def test_train_model_same_data_and_seed_give_the_same_version(
    synthetic_csv, tmp_path: Path
) -> None:
    # Given one CSV trained three times: twice with seed 3, once with seed 4
    data = read_paysim(synthetic_csv(3000, seed=11, fraud_rate=0.05))
    versions = [
        train_model(data, tmp_path / f"m{run}", options=replace(SMALL, seed=seed)).version
        for run, seed in enumerate((3, 3, 4))
    ]

    # Then one seed gives one version, recorded in the card with the seed, and another seed
    # another version
    assert versions[0] == versions[1] and versions[2] != versions[0], versions
    card = (tmp_path / "m0" / CARD_FILE).read_text()
    assert "- Seed: 3 (`fds train --seed`)" in card, card
