"""Tests for the SHAP values of a few rows at a time (``ml.contributions``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier, Pool

from ml import contributions
from ml.contributions import prepare, shap_values
from ml.features import FEATURE_NAMES, build_features
from ml.model import FraudModel, ModelMetadata

REAL_ROWS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "paysim"
    / "paysim_inorder_steps001-010.csv"
)


def catboost_shap(model: FraudModel, rows: np.ndarray) -> np.ndarray:
    """CatBoost's own SHAP values, computed directly, without the expected value."""
    names = list(model.classifier.feature_names_)
    shap = model.classifier.get_feature_importance(
        Pool(rows, feature_names=names), type="ShapValues", thread_count=1
    )
    return np.asarray(shap)[:, : len(names)]


def model_rows(model: FraudModel, frame_or_columns) -> np.ndarray:
    """Built features in the model's own order."""
    built = build_features(frame_or_columns)
    return built[:, [FEATURE_NAMES.index(name) for name in model.classifier.feature_names_]]


def tiny_model(grow_policy: str, seed: int = 3) -> FraudModel:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(400, 4)) * [1, 100, 0.01, 5]
    labels = ((features[:, 0] > 0.3) ^ (features[:, 2] > 0)).astype(int)
    names = ["amount", "oldbalance_orig", "oldbalance_dest", "hour_of_day"]
    classifier = CatBoostClassifier(
        iterations=25,
        depth=3,
        grow_policy=grow_policy,
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        thread_count=1,
    )
    classifier.fit(Pool(features, labels, feature_names=names))
    return FraudModel(classifier, ModelMetadata(f"cb-{grow_policy}", names, 0.5))


def test_shap_values_of_the_shipped_model_are_catboost_s_own(model: FraudModel) -> None:
    # Given takeovers, payments and random rows in the model's feature order
    rng = np.random.default_rng(8)
    count = 300
    columns = {
        "step": rng.integers(0, 744, count),
        "type": rng.choice(["TRANSFER", "CASH_OUT", "PAYMENT", "CASH_IN", "DEBIT"], count),
        "amount": rng.choice([0.0, 181.0, 9000.0, 1e7, 2.5e6], count),
        "oldbalanceOrg": rng.choice([0.0, 181.0, 9000.0, 1e7, 3e7], count),
        "oldbalanceDest": rng.choice([0.0, 50.0, 1e6], count),
        "nameDest": rng.choice(["C1", "M1"], count),
    }
    rows = model_rows(model, columns)

    # When their SHAP values are looked up in the table
    assert prepare(model) is not None, "the shipped model's trees are oblivious"
    looked_up = shap_values(model, rows)

    # Then they are what CatBoost computes directly
    np.testing.assert_allclose(looked_up, catboost_shap(model, rows), rtol=0, atol=1e-9)


def test_shap_values_of_a_row_do_not_depend_on_its_batch(model: FraudModel) -> None:
    rows = model_rows(
        model,
        {
            "step": list(range(120)),
            "type": ["TRANSFER", "PAYMENT", "CASH_OUT"] * 40,
            "amount": [100.0 + i for i in range(120)],
            "oldbalanceOrg": [100.0 + i * (i % 2) for i in range(120)],
            "oldbalanceDest": [0.0] * 120,
            "nameDest": ["C1"] * 120,
        },
    )

    alone = shap_values(model, rows[60:61])
    in_batch = shap_values(model, rows)[60:61]

    assert np.array_equal(alone, in_batch), "a row's values changed with its batch"


def test_prepare_builds_a_model_s_table_once(monkeypatch) -> None:
    # Given a fresh model and the table builder counted
    model = tiny_model("SymmetricTree")
    built: list[object] = []
    real = contributions._build_table

    def counting(classifier):
        built.append(classifier)
        return real(classifier)

    monkeypatch.setattr(contributions, "_build_table", counting)

    # When its values are asked for three times
    rows = np.random.default_rng(1).normal(size=(5, 4))
    first = shap_values(model, rows)
    shap_values(model, rows)
    prepare(model)

    # Then the table was built once, and its values are CatBoost's
    assert len(built) == 1, f"table built {len(built)} times"
    np.testing.assert_allclose(first, catboost_shap(model, rows), rtol=0, atol=1e-9)


def test_shap_values_of_trees_that_are_not_oblivious_come_from_catboost_directly() -> None:
    # Given a model grown depth-wise (its nodes split on different conditions at one level)
    model = tiny_model("Depthwise")
    rows = np.random.default_rng(2).normal(size=(7, 4)) * [1, 100, 0.01, 5]

    # When / Then it has no table, and its values are CatBoost's
    assert prepare(model) is None
    np.testing.assert_allclose(
        shap_values(model, rows), catboost_shap(model, rows), rtol=0, atol=1e-12
    )


def test_rows_reaching_every_leaf_reach_every_leaf_of_each_tree(model: FraudModel) -> None:
    # Given the shipped model's trees
    trees = contributions._oblivious_splits(model.classifier)
    assert trees is not None
    names = list(model.classifier.feature_names_)

    for index in range(0, len(trees), 50):
        # When rows are made for one tree
        rows = contributions._rows_reaching_every_leaf(trees[index], len(names))
        single = model.classifier.copy()
        single.shrink(ntree_end=index + 1, ntree_start=index)
        leaves = set(single.calc_leaf_indexes(Pool(rows, feature_names=names))[:, 0].tolist())

        # Then they fall in as many leaves as the splits allow: every leaf when the levels
        # split on distinct features, fewer when a feature is split twice
        features = [feature for feature, _ in trees[index]]
        if len(set(features)) == len(features):
            assert leaves == set(range(2 ** len(features))), f"tree {index}: leaves {leaves}"
        assert len(leaves) == len(rows), f"tree {index}: two rows share a leaf"


@pytest.mark.real_data
def test_shap_values_of_real_rows_are_catboost_s_own(model: FraudModel) -> None:
    if not REAL_ROWS.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_ROWS} (shared/ next to the repository)")

    rows = model_rows(model, pd.read_csv(REAL_ROWS, nrows=20_000))

    np.testing.assert_allclose(
        shap_values(model, rows), catboost_shap(model, rows), rtol=0, atol=1e-9
    )
