"""The embedded local AWS: moto's server on the loopback interface.

It serves the real AWS APIs (Kinesis, DynamoDB, S3, SNS, SQS) over HTTP, so the same boto3 code
runs against it and against AWS; only ``AWS_ENDPOINT_URL`` differs. State lives in memory and is
gone when the server stops.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import selectors
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import werkzeug.serving
from moto import backends
from moto.core import responses as core_responses
from moto.core.utils import unix_time
from moto.kinesis import models as kinesis_models
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import ThreadedWSGIServer

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
    _check_sqs_retention_directly()


def _check_sqs_retention_directly() -> None:
    """Read a queue's retention period without building all of its attributes.

    moto checks, for every message it hands out, whether the message outlived its queue's
    retention, and gets the period by building every attribute of the queue, message counts
    included, which walks the whole queue each time. The operators' inbox is read as alerts
    arrive, so this cost a millisecond or more of server time per alert.
    """
    backend = sqs_models.SQSBackend
    moto_check = backend.is_message_valid_based_on_retention_period

    def within_retention(self: Any, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        period = int(queue.message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > unix_time())

    within_retention.moto_check = moto_check  # type: ignore[attr-defined]
    backend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign]


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


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _read_whole_body(app: WsgiApp) -> WsgiApp:
    """Read each request's body before the app sees it.

    A kept-alive connection carries the next request right behind this one's body, so a body
    the app leaves partly unread would be taken for the next request line.
    """

    def buffered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):  # chunked: read to its last chunk
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return buffered


class _NothingLeftToDrain:
    """Stands in for the selector werkzeug uses to drain a connection after each response.

    Werkzeug discards whatever the client sent after the request it answered, waiting up to
    10 ms for more; that is safe only because it then closes the connection. Here the body
    was read whole before the app ran, so what follows is the client's next request: it must
    be left for the next read, and without the wait.
    """

    def register(self, *_: object) -> None:
        pass

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class _Selectors:
    EVENT_READ = selectors.EVENT_READ
    DefaultSelector = _NothingLeftToDrain


def _keep_connections_alive() -> None:
    # Werkzeug's server module looks its selectors up as a module global when it drains; this
    # process serves no other werkzeug app, so replacing it there is contained.
    werkzeug.serving.selectors = _Selectors  # type: ignore[assignment]


class _KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, with HTTP/1.1 connections kept open between requests.

    Werkzeug's development server closes the connection after every response, so each AWS
    call paid for a new TCP connection and a new server thread: on a 2-core machine at 500
    transactions per second that was several hundred connections a second and a large share of
    the server's time. Request bodies are read whole (see ``_read_whole_body``), which is what
    werkzeug's close-always rule guards against.
    """

    server: _LocalServer
    # Headers and body leave in separate writes; with Nagle's algorithm on, a kept-alive
    # connection waits for the client's delayed acknowledgement (about 40 ms) between them.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)


class _LocalServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, knowing its open connections."""

    def __init__(self, port: int, app: WsgiApp) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_opened = 0
        super().__init__(LOOPBACK, port, app, handler=_KeepAliveRequestHandler)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
                self.connections_opened += 1
            else:
                self._connections.discard(connection)

    def drop_connections(self) -> None:
        """Cut every kept-alive connection, so a stopped server really stops answering."""
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


def _check_port_free(port: int) -> None:
    """Raise OSError if the port is taken: werkzeug would print a message and exit instead.

    The probe reuses the address as werkzeug's own socket does: connections closed by a server
    that just stopped linger for a minute (TIME_WAIT), and must not keep it from restarting. A
    socket still listening on the port makes the bind fail all the same.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((LOOPBACK, port))


class LocalAws:
    """A running embedded AWS server; use as a context manager or call ``stop``.

    Raises:
        OSError: the port is taken.
    """

    def __init__(self, port: int = 0) -> None:
        if port:
            _check_port_free(port)
        quiet_request_logging()
        speed_up_request_dispatch()
        _keep_connections_alive()
        app = _read_whole_body(DomainDispatcherApplication(create_backend_app))
        self._server = _LocalServer(port, app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws", daemon=True
        )
        self._thread.start()
        self.port = self._server.server_address[1]
        self.endpoint_url = f"http://{LOOPBACK}:{self.port}"
        logger.info("local AWS listening on %s", self.endpoint_url)

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far; kept-alive clients open one per pooled slot."""
        return self._server.connections_opened

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join()
        logger.info("local AWS on %s stopped", self.endpoint_url)

    def __enter__(self) -> LocalAws:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
