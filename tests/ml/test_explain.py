"""Tests for explaining flagged transactions in words (``ml.explain``)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, Pool

from ml.explain import (
    FEATURE_WORDS,
    SAME_FACT,
    TOP_REASONS,
    ValueKind,
    describe,
    explain,
    format_value,
)
from ml.features import FEATURE_NAMES, build_features
from ml.model import FraudModel, ModelMetadata

REAL_ROWS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "paysim"
    / "paysim_inorder_steps001-010.csv"
)
#: The features that say "the sender's account is being emptied", the PaySim fraud mechanism.
DRAIN_FEATURES = {"drains_sender", "balance_left", "amount_over_balance"}


def columns(*rows: dict[str, Any]) -> dict[str, list[Any]]:
    """The feature builder's input columns of some transactions."""
    names = ("step", "type", "amount", "oldbalanceOrg", "oldbalanceDest", "nameDest")
    return {name: [row[name] for row in rows] for name in names}


def takeover(amount: float = 181.0, **overrides: Any) -> dict[str, Any]:
    """An account takeover: the sender's whole balance transferred to an empty account at night."""
    row = {
        "step": 4,
        "type": "TRANSFER",
        "amount": amount,
        "oldbalanceOrg": amount,
        "oldbalanceDest": 0.0,
        "nameDest": "C4000000001",
    }
    return {**row, **overrides}


def payment(**overrides: Any) -> dict[str, Any]:
    row = {
        "step": 18,
        "type": "PAYMENT",
        "amount": 12.5,
        "oldbalanceOrg": 5000.0,
        "oldbalanceDest": 0.0,
        "nameDest": "M2000000001",
    }
    return {**row, **overrides}


def named_row(features: np.ndarray) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, features.tolist(), strict=True))


def test_feature_words_cover_every_feature_the_builder_makes() -> None:
    missing = [name for name in FEATURE_NAMES if name not in FEATURE_WORDS]

    assert not missing, (
        f"features {missing} have no words: add them to FEATURE_WORDS in ml/explain.py"
    )


@pytest.mark.parametrize("feature", FEATURE_NAMES)
def test_feature_words_name_only_features_that_exist(feature: str) -> None:
    # Given a feature's templates (both, for a flag)
    words = FEATURE_WORDS[feature]
    templates = [words.text] + ([words.text_if_not] if words.kind is ValueKind.FLAG else [])

    for template in templates:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}

        # Then each names this feature's value or another feature, nothing else
        unknown = fields - {"value", *FEATURE_NAMES}
        assert not unknown, f"{feature}: template {template!r} names unknown {unknown}"
        assert template.strip(), f"{feature}: empty template"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (ValueKind.MONEY, 181.0, "181.00"),
        (ValueKind.MONEY, 1619536.02, "1619536.02"),
        (ValueKind.MONEY, -120.5, "-120.50"),
        (ValueKind.FLAG, 1.0, "yes"),
        (ValueKind.FLAG, 0.0, "no"),
        (ValueKind.HOUR, 4.0, "04:00"),
        (ValueKind.HOUR, 23.0, "23:00"),
        (ValueKind.SHARE, 1.0, "100.00%"),
        (ValueKind.SHARE, 0.0025, "0.25%"),
        (ValueKind.SHARE, 1e6, "over 100000%"),
    ],
)
def test_format_value_writes_each_kind_plainly(
    kind: ValueKind, value: float, expected: str
) -> None:
    assert format_value(kind, value) == expected


def test_describe_says_a_drained_account_and_an_empty_recipient_plainly() -> None:
    row = named_row(build_features(columns(takeover(amount=181.0)))[0])

    assert describe("drains_sender", row) == "the amount equals the sender's whole balance (181.00)"
    assert describe("dest_empty", row) == "the recipient's balance before was 0"
    assert describe("hour_of_day", row) == "it was made at 04:00"
    assert describe("type_TRANSFER", row) == "the transaction is a TRANSFER"
    assert describe("type_PAYMENT", row) == "the transaction is not a PAYMENT"


def test_describe_says_an_unset_flag_with_its_values() -> None:
    row = named_row(build_features(columns(payment(oldbalanceDest=250.0)))[0])

    assert describe("drains_sender", row) == (
        "the amount (12.50) is not the sender's whole balance (5000.00)"
    )
    assert describe("dest_empty", row) == "the recipient's balance before was not 0 (250.00)"
    assert describe("dest_is_merchant", row) == "the recipient is a merchant"


def test_explain_top_reason_of_a_takeover_is_the_drained_account(model: FraudModel) -> None:
    # Given a takeover the model flags
    features = build_features(columns(takeover(amount=181.0)))
    assert model.score_features(features)[0] >= model.threshold, "the takeover must be flagged"

    # When it is explained
    [reasons] = explain(model, features)

    # Then three reasons push it towards fraud, strongest first, led by the emptied account
    assert len(reasons) == TOP_REASONS, reasons
    assert reasons[0].feature in DRAIN_FEATURES, f"top reason {reasons[0]}"
    contributions = [reason.contribution for reason in reasons]
    assert contributions == sorted(contributions, reverse=True), reasons
    assert all(c > 0 for c in contributions), reasons
    by_feature = {reason.feature: reason for reason in reasons}
    if "drains_sender" in by_feature:
        drained = by_feature["drains_sender"]
        assert drained.value == 1.0
        assert drained.words == "the amount equals the sender's whole balance (181.00)"


def test_explain_reasons_are_the_largest_shap_values_one_per_fact(model: FraudModel) -> None:
    # Given two flagged rows
    features = build_features(columns(takeover(amount=181.0), takeover(amount=9000.0, step=30)))

    # When they are explained
    explained = explain(model, features)

    # Then each row's reasons are its three largest SHAP values, computed here independently,
    # after adding up the features that state one fact; each said by its strongest member
    names = list(model.classifier.feature_names_)
    ordered = features[:, [FEATURE_NAMES.index(name) for name in names]]
    shap = model.classifier.get_feature_importance(
        Pool(ordered, feature_names=names), type="ShapValues"
    )[:, :-1]
    for row, reasons in zip(shap, explained, strict=True):
        facts: dict[str, list[tuple[float, str]]] = {}
        for share, name in zip(row, names, strict=True):
            facts.setdefault(SAME_FACT.get(name, name), []).append((float(share), name))
        ranked = sorted(facts.values(), key=lambda members: -sum(s for s, _ in members))
        expected = [max(members)[1] for members in ranked[:TOP_REASONS]]
        assert [reason.feature for reason in reasons] == expected
        for reason, members in zip(reasons, ranked, strict=False):
            assert reason.contribution == pytest.approx(sum(s for s, _ in members), abs=1e-3)
        said = [SAME_FACT.get(reason.feature, reason.feature) for reason in reasons]
        assert len(set(said)) == len(said), f"one fact given twice: {reasons}"


def test_explain_is_the_same_for_a_row_alone_and_in_any_batch(model: FraudModel) -> None:
    # Given a takeover, and the same takeover among 150 other rows (past the size at which
    # CatBoost switches its SHAP strategy)
    row = takeover(amount=181.0)
    others = [takeover(amount=100.0 + i, step=i % 24) for i in range(150)]
    alone = build_features(columns(row))
    among = build_features(columns(*others[:75], row, *others[75:]))

    # When each is explained
    [by_itself] = explain(model, alone)
    in_batch = explain(model, among)[75]

    # Then the reasons are identical, to the words and digits
    assert by_itself == in_batch


def test_explain_feeds_the_model_by_name_not_by_position() -> None:
    # Given a model trained on the features in reverse order, on random rows labelled fraud
    # exactly when the hour is before 06:00
    hour = FEATURE_NAMES.index("hour_of_day")
    mirror = len(FEATURE_NAMES) - 1 - hour  # the column a positional mix-up would read instead
    rng = np.random.default_rng(5)
    features = rng.integers(0, 24, (600, len(FEATURE_NAMES))).astype(np.float64)
    labels = (features[:, hour] < 6).astype(int)
    reversed_names = list(reversed(FEATURE_NAMES))
    classifier = CatBoostClassifier(
        iterations=30, depth=2, random_seed=1, verbose=False, allow_writing_files=False
    )
    classifier.fit(Pool(features[:, ::-1], labels, feature_names=reversed_names))
    model = FraudModel(classifier, ModelMetadata("cb-reversed", reversed_names, 0.5))

    # When a row at 03:00 and one at 20:00 are explained, each with the other hour in the
    # mirrored column
    night, evening = np.full((2, len(FEATURE_NAMES)), 12.0)
    night[hour], night[mirror] = 3.0, 20.0
    evening[hour], evening[mirror] = 20.0, 3.0
    night_reasons, evening_reasons = explain(model, np.vstack([night, evening]))

    # Then the hour is the night row's first reason, with its own value and words, and no
    # reason of the evening row
    assert night_reasons[0].feature == "hour_of_day", night_reasons
    assert night_reasons[0].value == 3.0
    assert night_reasons[0].words == "it was made at 03:00"
    assert "hour_of_day" not in {r.feature for r in evening_reasons}, evening_reasons


def test_explain_of_no_rows_asks_catboost_nothing(model: FraudModel, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(model.classifier, "get_feature_importance", lambda *a, **k: calls.append(1))

    assert explain(model, np.empty((0, len(FEATURE_NAMES)))) == []
    assert calls == [], "no rows must cost no SHAP call"


def test_explain_refuses_rows_not_built_by_the_feature_builder(model: FraudModel) -> None:
    with pytest.raises(ValueError, match="columns"):
        explain(model, np.zeros((2, len(FEATURE_NAMES) - 1)))


@pytest.mark.real_data
def test_explain_every_real_fraud_the_model_flags_in_words(model: FraudModel) -> None:
    if not REAL_ROWS.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_ROWS} (shared/ next to the repository)")

    # Given the real frauds of PaySim's first ten steps that the model flags
    frame = pd.read_csv(REAL_ROWS)
    frauds = frame[frame["isFraud"] == 1]
    features = build_features(frauds)
    flagged = features[model.score_features(features) >= model.threshold]
    assert len(flagged) > 50, f"only {len(flagged)} real frauds flagged"

    # When they are explained in one call
    explained = explain(model, flagged)

    # Then each has three reasons in words (none fell back to "<feature> is <value>"), and
    # the emptied account leads for those that emptied it
    drained = FEATURE_NAMES.index("drains_sender")
    for row, reasons in zip(flagged, explained, strict=True):
        assert len(reasons) == TOP_REASONS, reasons
        assert not any(r.words.startswith(f"{r.feature} is ") for r in reasons), reasons
        if row[drained] == 1.0:
            assert reasons[0].feature in DRAIN_FEATURES, reasons
