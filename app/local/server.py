"""The embedded local AWS: moto's server on the loopback interface.

It serves the real AWS APIs (Kinesis, DynamoDB, S3, SNS, SQS) over HTTP, so the same boto3 code
runs against it and against AWS; only ``AWS_ENDPOINT_URL`` differs. State lives in memory and is
gone when the server stops.
"""

from __future__ import annotations

import logging

from moto import backends
from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def quiet_request_logging() -> None:
    """Silence the per-request lines of the server's HTTP layer; errors still show."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def cache_service_directory_listing() -> None:
    """Make moto list its service packages once instead of on every request.

    moto's HTTP front end decides which service a request is for by listing and stat-ing its
    own package directory, about 60 file-system calls per request; that was 40 % of the server's
    time per DynamoDB write here. The listing never changes while the server runs.
    """
    if getattr(backends.list_of_moto_modules, "_fds_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def cached_listing() -> tuple[str, ...]:
        return modules

    cached_listing._fds_cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = cached_listing  # type: ignore[assignment]


class LocalAws:
    """A running embedded AWS server; use as a context manager or call ``stop``."""

    def __init__(self, port: int = 0) -> None:
        quiet_request_logging()
        cache_service_directory_listing()
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{self.port}"
        logger.info("local AWS listening on %s", self.endpoint_url)

    def stop(self) -> None:
        self._server.stop()
        logger.info("local AWS on %s stopped", self.endpoint_url)

    def __enter__(self) -> LocalAws:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
