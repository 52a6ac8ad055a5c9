"""Tests for measuring a model on labelled rows (``ml.evaluate``), on generated and real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.data import read_paysim
from ml.evaluate import evaluate_model
from ml.model import FraudModel
from ml.train import train_model

#: The real PaySim sample lives next to the repository, in ../shared; it is never committed.
REAL_DATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "paysim"
    / "paysim_weighted_steps001-400.csv"
)
REPORT_KEYS = {
    "rows",
    "auprc",
    "roc_auc",
    "precision",
    "recall",
    "recall_at_precision_99",
    "fraud_amount_caught",
    "fraud_amount_missed",
    "intervals",
    "threshold",
}


def test_evaluate_model_reports_the_metrics_at_the_model_threshold(
    model: FraudModel, synthetic_csv
) -> None:
    # Given labelled generated rows
    data = read_paysim(synthetic_csv(2000, seed=21, fraud_rate=0.05))

    # When the shipped model is evaluated on them
    report = evaluate_model(model, data)

    # Then the report holds the metrics, for every row, at the model's threshold
    assert set(report) >= REPORT_KEYS, f"report lacks {REPORT_KEYS - set(report)}"
    assert report["rows"] == 2000
    assert report["threshold"] == model.threshold
    assert report["model_version"] == model.version
    assert report["data_sha256"] == data.fingerprint
    assert report["weighted"] is False
    for key in ("auprc", "roc_auc", "precision", "recall"):
        assert 0.0 <= report[key] <= 1.0, f"{key} = {report[key]}"
    assert report["recall"] > 0.9, f"the takeover pattern should be caught: {report}"


def test_evaluate_model_weighted_metrics_differ_from_unweighted(
    model: FraudModel, make_row, make_fraud_row, write_csv
) -> None:
    # Given 4 caught frauds, 4 clean payments, one legit row that looks like a takeover (a
    # false positive) and one fraud that looks like a payment (a missed fraud)
    rows = [make_fraud_row(nameOrig=f"C10{i}", amount=1000.0 * (i + 1)) for i in range(4)]
    rows += [make_row(nameOrig=f"C20{i}") for i in range(4)]
    rows += [make_fraud_row(nameOrig="C301", amount=50_000.0, isFraud=0)]
    rows += [make_row(nameOrig="C401", isFraud=1)]
    columns = (*rows[0], "sample_weight")
    weights = [1.0] * 4 + [1.0] * 4 + [10.0] + [3.0]
    path = write_csv(
        [{**r, "sample_weight": w} for r, w in zip(rows, weights, strict=True)], columns=columns
    )

    # When it is evaluated with and without the weights
    unweighted = evaluate_model(model, read_paysim(path))
    weighted = evaluate_model(model, read_paysim(path, weights_column="sample_weight"))

    # Then precision and recall follow the weights exactly
    assert unweighted["precision"] == pytest.approx(4 / 5), f"unweighted {unweighted}"
    assert unweighted["recall"] == pytest.approx(4 / 5), f"unweighted {unweighted}"
    assert weighted["precision"] == pytest.approx(4 / 14), f"weighted {weighted}"
    assert weighted["recall"] == pytest.approx(4 / 7), f"weighted {weighted}"
    assert weighted["auprc"] != pytest.approx(unweighted["auprc"]), "AUPRC ignores the weights"
    assert weighted["weighted"] is True and unweighted["weighted"] is False


def test_evaluate_model_fraud_rows_without_weight_report_no_auprc(
    model: FraudModel, make_row, make_fraud_row, write_csv
) -> None:
    # Given frauds and legit rows where every fraud row has weight 0
    rows = [make_fraud_row(nameOrig=f"C10{i}", amount=1000.0 * (i + 1)) for i in range(3)]
    rows += [make_row(nameOrig=f"C20{i}") for i in range(3)]
    weights = [0.0] * 3 + [1.0] * 3
    path = write_csv(
        [{**r, "sample_weight": w} for r, w in zip(rows, weights, strict=True)],
        columns=(*rows[0], "sample_weight"),
    )

    # When it is evaluated with those weights
    report = evaluate_model(model, read_paysim(path, weights_column="sample_weight"))

    # Then the metrics that need weighted fraud are absent, and the report is valid JSON
    assert report["auprc"] is None and report["roc_auc"] is None, f"report {report}"
    assert report["recall"] is None, f"report {report}"
    assert report["rows"] == 6 and report["frauds"] == 3
    json.dumps(report, allow_nan=False)


@pytest.mark.real_data
def test_evaluate_model_default_on_unseen_real_paysim_steps(model: FraudModel) -> None:
    if not REAL_DATA.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_DATA} (shared/ next to the repository)")

    # Given the real weighted sample's steps 1-119, which the shipped model never saw
    data = read_paysim(REAL_DATA, weights_column="sample_weight", steps=(1, 119))
    assert data.frame["step"].max() <= 119
    trained_on = model.metadata.training["steps"]
    assert trained_on[0] > 119, f"the model was trained on steps {trained_on}"

    # When it is evaluated with the population weights
    report = evaluate_model(model, data)

    # Then it separates fraud almost perfectly
    assert report["weighted"] is True
    assert report["auprc"] >= 0.95, f"weighted AUPRC on steps 1-119: {report}"
    assert report["recall"] >= 0.95, f"weighted recall on steps 1-119: {report}"


def test_evaluate_model_amounts_and_intervals(model: FraudModel, synthetic_csv) -> None:
    # Given labelled generated rows
    data = read_paysim(synthetic_csv(3000, seed=23, fraud_rate=0.05))
    frame = data.frame

    # When evaluated twice
    report = evaluate_model(model, data)
    again = evaluate_model(model, data)

    # Then the fraud amounts caught and missed add up to the fraud amount in the file
    fraud_amount = float(frame.loc[frame["isFraud"] == 1, "amount"].sum())
    caught, missed = report["fraud_amount_caught"], report["fraud_amount_missed"]
    assert caught + missed == pytest.approx(fraud_amount), f"report {report}"
    assert caught > missed, f"report {report}"
    # And the intervals are seeded, ordered, and hold the point figures
    assert report["intervals"] == again["intervals"]
    for name in ("auprc", "recall"):
        low, high = report["intervals"][name]
        assert 0.0 <= low <= report[name] <= high <= 1.0, f"{name}: {report}"
    assert report["steps"] == [int(frame["step"].min()), int(frame["step"].max())]


@pytest.mark.real_data
def test_train_on_early_real_steps_meets_the_target_on_later_ones(tmp_path: Path) -> None:
    if not REAL_DATA.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_DATA} (shared/ next to the repository)")

    # Given a model trained on steps 1-300 of the real weighted sample (threshold on 241-300)
    training = read_paysim(REAL_DATA, weights_column="sample_weight", steps=(1, 300))
    model = train_model(
        training, tmp_path / "model", source=REAL_DATA.name, weights_column="sample_weight"
    )
    assert model.metadata.training["validation_steps"][1] == 300

    # When it is measured on steps 301-400, which it never saw, with the population weights
    report = evaluate_model(
        model, read_paysim(REAL_DATA, weights_column="sample_weight", steps=(301, 400))
    )

    # Then it meets the target at its own threshold
    assert report["auprc"] >= 0.999, f"weighted AUPRC on steps 301-400: {report}"
    assert report["precision"] >= 0.99, f"weighted precision on steps 301-400: {report}"
    assert report["recall"] >= 0.99, f"weighted recall on steps 301-400: {report}"


def test_evaluate_model_without_fraud_notes_why_the_fraud_figures_are_missing(
    model: FraudModel, make_row, write_csv
) -> None:
    # Given a file of legit rows only
    path = write_csv([make_row(nameOrig=f"C20{i}", step=1 + i) for i in range(4)])

    # When it is evaluated
    report = evaluate_model(model, read_paysim(path))

    # Then the figures that need fraud are n/a, and a note says why
    assert report["auprc"] is None and report["recall"] is None, report
    assert any(
        note.startswith("no fraud rows in the measured steps: AUPRC, ROC-AUC, recall")
        for note in report["notes"]
    ), report["notes"]
    json.dumps(report, allow_nan=False)


def test_evaluate_model_every_weight_zero_notes_that_nothing_can_be_computed(
    model: FraudModel, make_row, make_fraud_row, write_csv
) -> None:
    rows = [make_fraud_row(nameOrig="C101"), make_row(nameOrig="C201")]
    path = write_csv(
        [{**row, "sample_weight": 0.0} for row in rows], columns=(*rows[0], "sample_weight")
    )

    report = evaluate_model(model, read_paysim(path, weights_column="sample_weight"))

    assert report["precision"] is None and report["auprc"] is None, report
    assert report["notes"] == [
        "every row of the measured steps has weight 0: no figure can be computed; give "
        "positive weights or choose another weights column"
    ]


def test_evaluate_model_of_fraud_and_legit_rows_has_no_notes(
    model: FraudModel, synthetic_csv
) -> None:
    report = evaluate_model(model, read_paysim(synthetic_csv(2000, seed=23)), resamples=0)

    assert report["auprc"] is not None and report["notes"] == [], report
