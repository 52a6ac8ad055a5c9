"""Running the embedded AWS in a process of its own.

The server is Python too; in its own process it gets its own interpreter lock and a core of its
own, instead of competing with the consumer for one.
"""

from __future__ import annotations

import logging
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from app.errors import AwsSetupError

logger = logging.getLogger(__name__)

#: What ``fds local serve`` prints once its resources exist; the endpoint follows it.
READY_MARKER = "FDS local AWS ready at"
_READY_PATTERN = re.compile(re.escape(READY_MARKER) + r" (\S+)")
_START_TIMEOUT_SECONDS = 90.0


class LocalAwsProcess:
    """``fds local serve`` as a child process on a free port; stopped on exit."""

    def __init__(self, shard_count: int) -> None:
        self._shard_count = shard_count
        self._process: subprocess.Popen[str] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="fds-local-aws-")
        self.log_path = Path(self._log_dir.name) / "server.log"
        self.endpoint_url = ""

    def __enter__(self) -> LocalAwsProcess:
        command = [
            sys.executable,
            "-m",
            "app.cli",
            "local",
            "serve",
            "--port",
            "0",
            "--shards",
            str(self._shard_count),
        ]
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
            )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._process.stdout
        assert stdout is not None

        def forward_lines() -> None:
            for line in stdout:
                lines.put(line)

        # Reading in a thread lets the wait below time out; the thread also keeps draining the
        # pipe afterwards, so the server can never block on a full stdout.
        threading.Thread(target=forward_lines, daemon=True).start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self.endpoint_url:
            try:
                match = _READY_PATTERN.search(lines.get(timeout=0.2))
            except queue.Empty:
                match = None
            if match:
                self.endpoint_url = match.group(1)
            elif self._process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text()[-2000:]
                self.__exit__()
                raise AwsSetupError(f"the local AWS did not start; the end of its log:\n{tail}")
        logger.info("local AWS running at %s (pid %d)", self.endpoint_url, self._process.pid)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None, "start the server first"
        return self._process.pid

    def __exit__(self, *_: object) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._log_dir.cleanup()
