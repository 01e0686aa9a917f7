"""Who delivers when no worker runs: the ``worker`` command, the detached drainer, and the lock between drainers.

Producers call ``ensure_delivery`` after committing: if no worker is alive, it starts
``mcp-push worker --drain`` detached, which delivers what is left, stays while an ask waits for
its answer (``asking.listeners.asks_open``), and exits. This module
imports no queue and no consumer until ``run_worker`` runs, so a producer pays only for a
ledger read and, at most, a process spawn.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mcp_push.config import Settings, prepare_home
from mcp_push.errors import ConfigError
from mcp_push.storage.base import live_worker_count

if TYPE_CHECKING:
    import subprocess

    from mcp_push.tasks.runtime import Runtime

log = logging.getLogger(__name__)


def drain_lock_path(settings: Settings) -> Path:
    return settings.home / "drain.lock"


def _open_private(path: Path, flags: int) -> int:
    """Open (creating, 0600) a file of MCP_PUSH_HOME, never through a symbolic link planted there."""
    try:
        return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "mcp-push never follows links in its home"
            raise ConfigError(f"{path} is a symbolic link; remove it ({reason})") from None
        raise


def try_lock(path: Path) -> IO[str] | None:
    """An exclusive, non-blocking lock held while the returned file stays open (never through a symlink)."""
    handle = os.fdopen(_open_private(path, os.O_RDWR), "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def spawn_drainer(settings: Settings) -> subprocess.Popen[bytes]:
    """Start ``mcp-push worker --drain`` detached from this process, so it outlives us."""
    import subprocess  # only when no worker is alive: most producers never spawn

    env = dict(os.environ)
    env["MCP_PUSH_HOME"] = str(settings.home)
    if settings.config_file is not None:
        env["MCP_PUSH_CONFIG"] = str(settings.config_file)
    log_fd = _open_private(settings.home / "drain.log", os.O_WRONLY | os.O_APPEND)
    try:
        os.fchmod(log_fd, 0o600)
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "worker", "--drain"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_fd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log_fd)


def _nothing_to_do(runtime: Runtime) -> bool:
    """No delivery unfinished and no ask waiting for its answer."""
    if runtime.ledger.unfinished_count():
        return False  # the common case for a hook: the asking modules (secrets, hmac) stay unloaded
    from mcp_push.asking.listeners import asks_open

    return not asks_open(runtime.ledger, time.time())


def ensure_delivery(runtime: Runtime, *, exclude: str | None = None) -> subprocess.Popen[bytes] | None:
    """Make sure someone will deliver what is queued: a live worker (other than ``exclude``), or a drainer."""
    if _nothing_to_do(runtime):
        return None
    if live_worker_count(runtime.ledger, time.time(), exclude=exclude):
        return None
    return spawn_drainer(runtime.settings)


def run_worker(
    settings: Settings, *, threads: int | None = None, drain: bool = False, metrics: tuple[str, int] | None = None
) -> int:
    """``mcp-push worker``: consume until SIGTERM/SIGINT, or (``--drain``) until nothing is left.

    Started before its PostgreSQL or Redis, it waits for them. A stop hands back what is in
    flight and exits 0 within a few seconds (a drain worker within 5), whatever the servers do.
    ``metrics`` (host, port): serve /metrics and /healthz there (``mcp_push.metrics``).
    """
    from mcp_push.tasks.lifecycle import (
        CLOSE_SECONDS,
        DRAIN_GRACE_MAX,
        StopSignals,
        bounded,
        open_when_ready,
        stop_grace,
    )

    signals = StopSignals().install()
    lock = None
    runtime = None
    metrics_server = None
    try:
        if drain:
            prepare_home(settings)
            lock = try_lock(drain_lock_path(settings))
            if lock is None:
                log.info("another drainer is already running")
                return 0
        grace = stop_grace(settings, DRAIN_GRACE_MAX if drain else None)
        runtime = open_when_ready(settings, lambda: signals.received)
        if runtime is None:
            return 0  # stopped while waiting for a backend
        if metrics is not None:
            from mcp_push.metrics import worker_server

            metrics_server = worker_server(runtime, *metrics)
        from mcp_push.tasks.worker import Worker  # after the queue: it decided how Huey is imported

        while True:
            worker = Worker(runtime, threads, drain=drain)
            worker.start()
            while not (worker.stopped.is_set() or signals.received):
                worker.stopped.wait(0.1)
            worker.stop(grace, hurry=signals.since(signals.count))
            if not worker.clean:
                return 0  # a server hung or a send is still running: end the process rather than drain on
            if signals.received or not drain or not settings.home.is_dir():
                return 0
            # Drained. Let go of the lock, then look once more: a sender that found the lock
            # taken relies on us to see what it queued just before we let go.
            assert lock is not None
            lock.close()
            lock = None
            if _nothing_to_do(runtime):
                return 0
            lock = try_lock(drain_lock_path(settings))
            if lock is None:
                return 0
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        if lock is not None:
            lock.close()
        if runtime is not None:
            bounded(runtime.close, CLOSE_SECONDS, "closing the ledger and the queue")
        signals.restore()
