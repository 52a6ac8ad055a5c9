"""The consumer's HTTP endpoint for Kubernetes and Prometheus.

``/healthz`` answers 200 while no shard reader has died (a dead one makes the kubelet restart
the pod, whose successor resumes from the saved places); ``/readyz`` answers 200 once every
shard has a running reader; ``/metrics`` is the Prometheus text format of the consumer's own
registry. Everything else is 404.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from app.errors import FdsError

logger = logging.getLogger(__name__)


class HealthEndpoint:
    """Serves the three paths on all interfaces of one port, in a background thread.

    Args:
        port: where to listen; 0 picks a free port (see ``port`` after start).
        registry: the metrics to export.
        alive: whether the process is healthy (no shard reader died).
        ready: whether it is reading every shard.

    Raises:
        FdsError: the port is taken or not allowed.
    """

    def __init__(
        self,
        port: int,
        registry: CollectorRegistry,
        alive: Callable[[], bool],
        ready: Callable[[], bool],
        host: str = "0.0.0.0",  # a pod's probes and scrapes come from outside it
    ) -> None:
        handler = _handler_for(registry, alive, ready)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as error:
            raise FdsError(
                f"cannot serve health and metrics on port {port} ({error.strerror}): stop what "
                "uses it or set FDS_METRICS_PORT to another port (0 turns the endpoint off)"
            ) from error
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-endpoint", daemon=True
        )
        self._thread.start()
        logger.info("health and metrics on port %d", self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(
    registry: CollectorRegistry, alive: Callable[[], bool], ready: Callable[[], bool]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server dispatches GET to
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._answer_check(alive())
            elif path == "/readyz":
                self._answer_check(ready())
            else:
                self._answer(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _answer_check(self, passed: bool) -> None:
            self._answer(200, b"ok\n") if passed else self._answer(503, b"unavailable\n")

        def _answer(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # Probes arrive every few seconds; a line each would bury the decision lines.
            logger.debug(format, *args)

    return Handler
