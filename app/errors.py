"""Errors of the app package. Each message says what went wrong and what to do about it."""


class FdsError(Exception):
    """Base class of every error the FDS app raises on purpose."""


class SettingsValueError(FdsError):
    """An ``FDS_*`` environment variable holds a value its setting cannot take."""


class AwsSetupError(FdsError):
    """AWS, or the embedded local AWS, cannot be reached or lacks a resource FDS needs."""


class ProducerError(FdsError):
    """Records could not be put on the stream even after retries."""


class InvalidRecordError(FdsError):
    """A stream record is not a valid transaction; it is set aside, never scored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
