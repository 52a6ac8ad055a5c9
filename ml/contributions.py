"""CatBoost's SHAP values for a few rows at a time, as fast as scoring them.

CatBoost computes exact SHAP values either row by row, or, past as many rows as a tree has
leaves, by first working out every leaf's values, which it does not keep between calls. For a
model of 500 trees of depth 6 that is about a millisecond per row, or 120 ms a call; a consumer
explains a handful of frauds per batch, many times a second, so neither fits: a burst of 50
frauds would take 60 ms.

The trees are oblivious (each level splits every node on the same condition), so a row's SHAP
values in one tree depend only on the leaf it falls in. ``prepare`` therefore asks CatBoost once,
tree by tree, for the SHAP values of rows that reach each leaf, and keeps them in a table; after
that a row's values are the sum over trees of its leaves' entries, one ``calc_leaf_indexes``
call for all rows of a batch. The numbers are CatBoost's own: ``prepare`` checks the table
against CatBoost's direct computation on probe rows and keeps it only if they agree, and a
model whose trees are not oblivious (or hold other than numeric splits) is explained by
CatBoost directly, row by row.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from catboost import CatBoostClassifier, Pool

from ml.model import FraudModel

logger = logging.getLogger(__name__)

#: Trees deeper than this keep a table too large to be worth it (2^depth leaves each): those
#: models are explained directly.
_MAX_TABLE_DEPTH: Final = 8
#: The table must give CatBoost's own values on the probe rows, to this tolerance.
_AGREEMENT: Final = 1e-9

_tables: weakref.WeakKeyDictionary[FraudModel, np.ndarray | None] = weakref.WeakKeyDictionary()
_tables_lock = threading.Lock()


def shap_values(model: FraudModel, rows: np.ndarray) -> np.ndarray:
    """Each row's SHAP value per feature, without the expected value.

    Args:
        model: the model to explain.
        rows: feature rows in the model's own feature order (``classifier.feature_names_``).

    Returns:
        An array of one row per input row and one column per model feature, in log-odds.
    """
    names = _names(model.classifier)
    pool = Pool(rows, feature_names=names)
    table = prepare(model)
    if table is None:
        return _direct(model.classifier, pool, len(names))
    leaves = model.classifier.calc_leaf_indexes(pool, thread_count=1)
    return np.asarray(table[np.arange(table.shape[0])[None, :], leaves].sum(axis=1))


def prepare(model: FraudModel) -> np.ndarray | None:
    """Build the model's table of SHAP values per leaf, once; None when it cannot have one.

    The consumer calls it at start, so the first fraud does not wait for it (0.15 s for the
    shipped model of 110 trees of depth 4, 1.5 s for 500 of depth 6).
    """
    with _tables_lock:
        if model not in _tables:
            started = time.perf_counter()
            _tables[model] = _build_table(model.classifier)
            logger.info(
                "SHAP values of model %s prepared in %.1fs",
                model.version,
                time.perf_counter() - started,
            )
        return _tables[model]


def _build_table(classifier: CatBoostClassifier) -> np.ndarray | None:
    names = _names(classifier)
    trees = _oblivious_splits(classifier)
    if trees is None:
        logger.info("trees are not oblivious numeric trees: SHAP values computed directly")
        return None
    depth = max((len(splits) for splits in trees), default=0)
    if depth > _MAX_TABLE_DEPTH:
        logger.info("trees of depth %d: SHAP values computed directly", depth)
        return None

    table = np.zeros((len(trees), 2**depth, len(names)))
    probes = []
    for index, splits in enumerate(trees):
        rows = _rows_reaching_every_leaf(splits, len(names))
        single = classifier.copy()
        single.shrink(ntree_end=index + 1, ntree_start=index)
        pool = Pool(rows, feature_names=names)
        leaves = single.calc_leaf_indexes(pool, thread_count=1)[:, 0]
        table[index, leaves] = _direct(single, pool, len(names))
        probes.append(rows[index % len(rows)])

    # Guard against a CatBoost whose split or SHAP rules differ from what this assumes.
    probe = np.array(probes[:: max(1, len(probes) // 16)])
    pool = Pool(probe, feature_names=names)
    leaves = classifier.calc_leaf_indexes(pool, thread_count=1)
    looked_up = table[np.arange(len(trees))[None, :], leaves].sum(axis=1)
    direct = _direct(classifier, pool, len(names))
    if not np.allclose(looked_up, direct, rtol=0, atol=_AGREEMENT):
        logger.warning(
            "SHAP table disagrees with CatBoost by up to %g: SHAP values computed directly",
            float(np.abs(looked_up - direct).max()),
        )
        return None
    return table


def _direct(classifier: CatBoostClassifier, pool: Pool, features: int) -> np.ndarray:
    shap = classifier.get_feature_importance(pool, type="ShapValues", thread_count=1)
    return np.asarray(shap)[:, :features]


def _names(classifier: CatBoostClassifier) -> list[str]:
    return [str(name) for name in classifier.feature_names_ or []]


def _oblivious_splits(classifier: CatBoostClassifier) -> list[list[tuple[int, float]]] | None:
    """Each tree's splits, as (model feature index, border) per level; None if not oblivious
    trees of numeric splits."""
    structure = _structure(classifier)
    trees = structure.get("oblivious_trees")
    if not trees:
        return None
    features = structure.get("features_info", {}).get("float_features", [])
    column = {int(f["feature_index"]): int(f["flat_feature_index"]) for f in features}
    splits: list[list[tuple[int, float]]] = []
    for tree in trees:
        levels = tree.get("splits", [])
        if any(level.get("split_type") != "FloatFeature" for level in levels):
            return None
        splits.append(
            [
                (column[int(level["float_feature_index"])], float(level["border"]))
                for level in levels
            ]
        )
    return splits


def _structure(classifier: CatBoostClassifier) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.json"
        classifier.save_model(str(path), format="json")
        return dict(json.loads(path.read_text()))


def _rows_reaching_every_leaf(splits: Sequence[tuple[int, float]], width: int) -> np.ndarray:
    """Rows that between them fall in every leaf a row can reach in a tree with these splits.

    A split sends values above its border one way and the rest the other, so for each feature
    a tree splits on, one value below its lowest border, one between each two, and one above
    the highest cover every way it can go; every combination of those covers every leaf. Other
    features do not matter to the tree and stay 0.
    """
    borders: dict[int, set[float]] = {}
    for feature, border in splits:
        borders.setdefault(feature, set()).add(border)
    features = sorted(borders)
    candidates = []
    for feature in features:
        ordered = sorted(borders[feature])
        candidates.append(
            [ordered[0] - 1.0 - abs(ordered[0])]
            + [(low + high) / 2 for low, high in itertools.pairwise(ordered)]
            + [ordered[-1] + 1.0 + abs(ordered[-1])]
        )
    combinations = list(itertools.product(*candidates))
    rows = np.zeros((max(len(combinations), 1), width))
    if features:
        rows[:, features] = np.array(combinations)
    return rows
