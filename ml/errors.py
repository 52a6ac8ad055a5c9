"""Errors of the ml package. Each message names the bad value and what to do about it."""


class MlError(Exception):
    """Base class of every error raised by the ml package."""


class DataFormatError(MlError):
    """A PaySim file cannot be used at all (missing file, missing columns, no valid row)."""


class UnknownTransactionTypeError(MlError, ValueError):
    """A transaction type outside the five PaySim knows reached the feature builder."""


class ModelError(MlError):
    """A model directory is missing, corrupt, or does not fit the features this code builds."""


class PlottingUnavailableError(MlError):
    """matplotlib, which the model card's plots need, is not installed (the ``ml`` extra)."""
