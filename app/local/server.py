"""The embedded local AWS: moto's server on the loopback interface.

It serves the real AWS APIs (Kinesis, DynamoDB, S3, SNS, SQS) over HTTP, so the same boto3 code
runs against it and against AWS; only ``AWS_ENDPOINT_URL`` differs. State lives in memory and is
gone when the server stops.
"""

from __future__ import annotations

import functools
import logging
import socket
from typing import Any

from moto import backends
from moto.core import responses as core_responses
from moto.kinesis import models as kinesis_models
from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def quiet_request_logging() -> None:
    """Silence the per-request lines of the server's HTTP layer; errors still show."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def speed_up_request_dispatch() -> None:
    """Cache two look-ups that moto's HTTP front end repeats on every request.

    To route a request, moto lists and stats its own package directory (about 60 file-system
    calls), and to find the handler it lists every method of the service's response class with
    ``inspect``. Both answers are fixed while the server runs; together they were about half of
    the server's time per DynamoDB write on a 2-core machine. Only where a request is routed is
    cached: what each AWS API does is moto's own code, unchanged.
    """
    if getattr(backends.list_of_moto_modules, "_fds_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def cached_listing() -> tuple[str, ...]:
        return modules

    cached_listing._fds_cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = cached_listing
    core_responses.method_names_from_class = functools.lru_cache(maxsize=None)(
        core_responses.method_names_from_class
    )
    _index_kinesis_shards()


def _index_kinesis_shards() -> None:
    """Read a moto Kinesis shard by position instead of scanning it from its first record.

    moto finds the newest sequence number by copying the list of all keys of the shard (for
    every record put) and serves GetRecords by walking the shard from the start, so both grow
    with the stream's length and a long local run slows down by itself. Sequence numbers in a
    moto shard are consecutive integers, so the records after a given number can be taken by
    key; a shard whose numbers are not consecutive (after a merge) keeps moto's own scan.
    """
    shard = kinesis_models.Shard
    scan = shard.get_records

    def newest(self: Any) -> int:
        return next(reversed(self.records)) if self.records else 0

    def oldest(self: Any) -> int:
        return next(iter(self.records)) if self.records else 0

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> Any:
        records = self.records
        if not records:
            return [], int(last_sequence_id), 0
        first, last = oldest(self), newest(self)
        if last - first + 1 != len(records):
            return scan(self, last_sequence_id, limit)
        start = max(int(last_sequence_id) + 1, first)
        stop = last + 1 if limit is None else min(last + 1, start + limit)
        found = [records[number] for number in range(start, stop)]
        if not found:
            return [], int(last_sequence_id), 0
        behind = records[last].created_at - found[-1].created_at
        return found, found[-1].sequence_number, int(behind * 1000)

    get_records.moto_scan = scan  # type: ignore[attr-defined]
    shard.get_max_sequence_number = newest  # type: ignore[method-assign]
    shard.get_min_sequence_number = oldest  # type: ignore[method-assign]
    shard.get_records = get_records  # type: ignore[method-assign]


def _check_port_free(port: int) -> None:
    """Raise OSError now if the port is taken: moto binds in a thread of its own, where a
    failure would leave the caller waiting for a server that never starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, port))


class LocalAws:
    """A running embedded AWS server; use as a context manager or call ``stop``."""

    def __init__(self, port: int = 0) -> None:
        if port:
            _check_port_free(port)
        quiet_request_logging()
        speed_up_request_dispatch()
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
