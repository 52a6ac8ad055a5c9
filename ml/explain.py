"""Why the model flagged a transaction: the features that pushed its score up most, in words.

The contributions are CatBoost's SHAP values, in the model's raw output (log-odds of fraud):
for each row they add up, with the model's expected value, to the row's raw score, so each one
says how far that feature moved this transaction towards or away from fraud. A reason is a
feature that moved it *towards* fraud; the top three by contribution are kept. Features that
state one fact in different ways (the amount equal to the balance, as a share of it, as what
is left of it) count as one reason, their contributions added up.

Only flagged transactions are explained, all of a batch at once, and the SHAP values come
from a table of each tree's values per leaf built once per model (``ml.contributions``), so a
fraud costs about what scoring it does; normal transactions are never explained at all.

An explanation depends only on the model and the row: a row's SHAP values are the sum of its
own leaves' entries, whatever rows come with it, and ties are broken by feature name, so a
replayed fraud is explained with the same words, whatever batch it comes in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np

from ml.contributions import shap_values
from ml.features import FEATURE_NAMES, FloatMatrix
from ml.model import FraudModel
from ml.schema import TRANSACTION_TYPES

logger = logging.getLogger(__name__)

#: Reasons given per flagged transaction.
TOP_REASONS: Final = 3
#: Contributions are kept to this many decimals: enough to rank them, and short in the alert.
_CONTRIBUTION_DECIMALS: Final = 4
#: A share above this is shown as "over" it: the features stand in a huge ratio for "the sender
#: had no balance", which is not a number anyone should read.
_LARGEST_SHARE: Final = 1000.0


class ValueKind(StrEnum):
    """How a feature's value is written in words."""

    MONEY = "money"  # two decimals: 181.00
    FLAG = "flag"  # yes or no
    HOUR = "hour"  # HH:00
    SHARE = "share"  # a ratio as a percentage: 100.00%, "over 100000%" past _LARGEST_SHARE


@dataclass(frozen=True)
class FeatureWords:
    """How a feature is said in words.

    ``text`` is a ``str.format`` template: ``{value}`` is this feature's value written as its
    ``kind`` says, and ``{<feature name>}`` is another feature's value of the same row written
    by that feature's kind (``{amount}`` gives ``181.00``). A flag uses ``text`` when it is set
    and ``text_if_not`` when it is not.
    """

    kind: ValueKind
    text: str
    text_if_not: str = ""


def _type_words(kind: str) -> FeatureWords:
    return FeatureWords(
        ValueKind.FLAG, f"the transaction is a {kind}", f"the transaction is not a {kind}"
    )


#: Words for every feature ``ml.features`` builds. A feature added there needs its words here;
#: ``tests/ml/test_explain.py`` fails until it has them.
FEATURE_WORDS: Final[Mapping[str, FeatureWords]] = {
    **{f"type_{kind}": _type_words(kind) for kind in TRANSACTION_TYPES},
    "amount": FeatureWords(ValueKind.MONEY, "the amount is {value}"),
    "oldbalance_orig": FeatureWords(ValueKind.MONEY, "the sender's balance before was {value}"),
    "oldbalance_dest": FeatureWords(ValueKind.MONEY, "the recipient's balance before was {value}"),
    "drains_sender": FeatureWords(
        ValueKind.FLAG,
        "the amount equals the sender's whole balance ({amount})",
        "the amount ({amount}) is not the sender's whole balance ({oldbalance_orig})",
    ),
    "amount_over_balance": FeatureWords(
        ValueKind.SHARE,
        "the amount is {value} of the sender's balance ({oldbalance_orig})",
    ),
    "balance_left": FeatureWords(ValueKind.MONEY, "the sender's balance would be left at {value}"),
    "dest_empty": FeatureWords(
        ValueKind.FLAG,
        "the recipient's balance before was 0",
        "the recipient's balance before was not 0 ({oldbalance_dest})",
    ),
    "dest_is_merchant": FeatureWords(
        ValueKind.FLAG, "the recipient is a merchant", "the recipient is a customer, not a merchant"
    ),
    "hour_of_day": FeatureWords(ValueKind.HOUR, "it was made at {value}"),
    "full_chunk": FeatureWords(
        ValueKind.FLAG,
        "the amount is exactly the 10000000.00 a single transfer may move, from a balance "
        "at least as large ({oldbalance_orig})",
        "the amount is not a full 10000000.00 chunk of a larger balance",
    ),
    "moves_nothing": FeatureWords(
        ValueKind.FLAG, "the amount is 0", "the amount is not 0 ({amount})"
    ),
}


@dataclass(frozen=True)
class Reason:
    """One feature that pushed a transaction's score towards fraud.

    Attributes:
        feature: the feature's name, as in ``ml.features.FEATURE_NAMES``.
        value: the feature's value for this transaction.
        contribution: its SHAP value, in log-odds of fraud (positive: towards fraud).
        words: the same in plain words, e.g. "the recipient's balance before was 0".
    """

    feature: str
    value: float
    contribution: float
    words: str

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": self.contribution,
            "words": self.words,
        }


def explain(
    model: FraudModel, features: FloatMatrix, top: int = TOP_REASONS
) -> list[tuple[Reason, ...]]:
    """The top ``top`` reasons of each row, the SHAP values of all rows found together.

    Args:
        model: the model that scored the rows.
        features: rows built by ``ml.features.build_features`` (columns in ``FEATURE_NAMES``
            order), typically only those the model flagged.
        top: reasons per row at most; fewer when fewer features pushed the row towards fraud.

    Returns:
        One tuple per row, in row order, strongest reason first.

    Raises:
        ValueError: ``features`` does not have one column per name in ``FEATURE_NAMES``.
    """
    if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES):
        raise ValueError(
            f"features of shape {features.shape} are not rows of build_features: expected "
            f"{len(FEATURE_NAMES)} columns ({', '.join(FEATURE_NAMES)})"
        )
    if len(features) == 0:
        return []

    # The model is fed by its own feature names, never by position (see ml.model).
    names = [str(name) for name in model.classifier.feature_names_ or []]
    ordered = features[:, [FEATURE_NAMES.index(name) for name in names]]
    contributions = np.round(shap_values(model, ordered), _CONTRIBUTION_DECIMALS)
    return [
        _top_reasons(dict(zip(FEATURE_NAMES, row.tolist(), strict=True)), names, shares, top)
        for row, shares in zip(features, contributions, strict=True)
    ]


#: Features that say the same fact about a transaction in different ways. Their contributions
#: are added up into one reason, said by the member that contributed most: three reasons that
#: all say "the whole balance leaves" would hide the other two the model had.
SAME_FACT: Final[Mapping[str, str]] = {
    "drains_sender": "sender_balance",
    "amount_over_balance": "sender_balance",
    "balance_left": "sender_balance",
    "oldbalance_dest": "recipient_balance",
    "dest_empty": "recipient_balance",
    **{f"type_{kind}": "type" for kind in TRANSACTION_TYPES},
}


def _top_reasons(
    row: Mapping[str, float], names: Sequence[str], shares: np.ndarray, top: int
) -> tuple[Reason, ...]:
    totals: dict[str, float] = {}
    speaker: dict[str, tuple[float, str]] = {}
    for share, name in zip(shares.tolist(), names, strict=True):
        fact = SAME_FACT.get(name, name)
        totals[fact] = totals.get(fact, 0.0) + float(share)
        # The member that pushed most says the fact; equal pushes go to the first name.
        if fact not in speaker or (-share, name) < (-speaker[fact][0], speaker[fact][1]):
            speaker[fact] = (float(share), name)
    # Strongest first; equal contributions in name order, so the choice never depends on
    # anything but the row.
    ranked = sorted(
        (
            (round(total, _CONTRIBUTION_DECIMALS), speaker[fact][1])
            for fact, total in totals.items()
            if round(total, _CONTRIBUTION_DECIMALS) > 0
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return tuple(
        Reason(feature=name, value=row[name], contribution=share, words=describe(name, row))
        for share, name in ranked[:top]
    )


def describe(feature: str, row: Mapping[str, float]) -> str:
    """A feature of a row in plain words, e.g. "the recipient's balance before was 0".

    Args:
        feature: a feature name.
        row: every feature's value of the row, by name.

    A feature without words (one added to ``ml.features`` before its words were written here)
    is said by its name and value rather than lost; the tests keep that from shipping.
    """
    words = FEATURE_WORDS.get(feature)
    if words is None:
        logger.warning("feature %s has no words in ml.explain.FEATURE_WORDS", feature)
        return f"{feature} is {row[feature]:g}"
    template = words.text
    if words.kind is ValueKind.FLAG and not row[feature] > 0.5:
        template = words.text_if_not
    shown = {name: _shown(name, value) for name, value in row.items()}
    return template.format(**shown, value=shown[feature])


def format_value(kind: ValueKind, value: float) -> str:
    """A value as its kind is written: ``181.00``, ``yes``, ``04:00``, ``100.00%``."""
    if kind is ValueKind.MONEY:
        return f"{value:.2f}"
    if kind is ValueKind.FLAG:
        return "yes" if value > 0.5 else "no"
    if kind is ValueKind.HOUR:
        return f"{int(value) % 24:02d}:00"
    if value > _LARGEST_SHARE:
        return f"over {_LARGEST_SHARE * 100:.0f}%"
    return f"{value * 100:.2f}%"


def _shown(feature: str, value: float) -> str:
    words = FEATURE_WORDS.get(feature)
    return format_value(words.kind, value) if words is not None else f"{value:g}"
