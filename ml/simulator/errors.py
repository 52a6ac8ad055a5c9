"""Errors of the simulator."""

from __future__ import annotations

from ml.errors import MlError


class SimulationError(MlError, ValueError):
    """A simulator setting is out of range; the message names it and the range it takes."""


class FidelityError(MlError):
    """The real file given for a fidelity report cannot be compared (no rows of a type...)."""
