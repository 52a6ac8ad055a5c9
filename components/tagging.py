"""Tags every FDS resource carries, so that cost reports and clean-ups can find them."""

from __future__ import annotations

from collections.abc import Mapping


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The shared tags plus a ``Name`` tag, the one the EC2 console shows in its lists."""
    return {**tags, "Name": name}
