"""Reading structured values out of Pulumi stack configuration.

The Pulumi CLI hands a program every config value as text, and structured ones (lists) as JSON
text. The programs' settings models (pydantic) then check types with the key named in the
error, so text that is not JSON is passed on unchanged: it is reported as "not a list" with
its key, not as a JSON parse error without one.
"""

from __future__ import annotations

import json
from typing import Any


def decode_json_text(value: Any) -> Any:
    """``value`` decoded if it is JSON text, otherwise ``value`` unchanged."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
