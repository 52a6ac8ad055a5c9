"""Pulumi entry point of the bootstrap stack: read its config once, declare, export."""

import sys
from pathlib import Path

import pulumi

# The CLI runs this folder as a script; the repository root makes `bootstrap.*` and
# `components.*` importable as packages, as stacks/__main__.py does for the stacks.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from bootstrap.program import build  # noqa: E402 - needs the path set above
from bootstrap.settings import load_settings  # noqa: E402 - needs the path set above

for name, value in build(load_settings()).items():
    pulumi.export(name, value)
