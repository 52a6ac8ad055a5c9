"""Small readers of a program run's record, shared by the infrastructure tests."""

from __future__ import annotations

import json
from typing import Any

STACKS = ("dev", "prod")


def of_type(run: Any, type_token: str) -> list[Any]:
    """Every recorded resource of one type."""
    return [r for r in run.resources if r.type == type_token]


def one(run: Any, type_token: str, name_suffix: str = "") -> Any:
    """The one recorded resource of a type whose logical name ends with ``name_suffix``."""
    found = [r for r in of_type(run, type_token) if r.name.endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_token} named *{name_suffix}, got {len(found)}"
    return found[0]


def policy_of(resource: Any, key: str = "policy") -> dict[str, Any]:
    """A policy document the resource carries as JSON text."""
    text = resource.inputs[key]
    assert isinstance(text, str) and "None" not in text, f"{resource.name}: {key} is {text!r}"
    return dict(json.loads(text))


def as_ints(value: Any) -> Any:
    """The value with integral floats made ints again.

    The engine's wire format (protobuf Struct) carries every number as a double, so a ``2``
    arrives as ``2.0``; the real provider converts back the same way before applying.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_ints(item) for item in value]
    return value
