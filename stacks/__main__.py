"""Pulumi entry point: read the stack's config once, build the stack, export its outputs."""

import sys
from pathlib import Path

import pulumi

# The Pulumi CLI runs this folder as a script, which puts only stacks/ itself on sys.path. The
# repository root is added so that `stacks.*` and `app.settings` import as packages even when FDS
# is not installed into the virtualenv.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from stacks.program import build  # noqa: E402 - needs the path set above
from stacks.settings import load_settings  # noqa: E402 - needs the path set above

settings = load_settings()

for name, value in build(settings).items():
    pulumi.export(name, value)
