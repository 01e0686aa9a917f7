"""Consumers: the embedded worker of ``serve``, the ``worker`` service, and the detached drainer.

A Worker runs Huey's consumer in threads (no signal handlers of its own, so it can live
inside the MCP server) plus a maintenance thread that records heartbeats, sweeps lost
deliveries back into the queue and, in drain mode, stops once nothing is left to deliver.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from huey.consumer import Consumer
from huey.consumer import Worker as HueyWorker

from mcp_push.config import Settings
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.wakeup import WakeListener

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
LIVE_WITHIN = 3 * HEARTBEAT_SECONDS
PURGE_EVERY = 86400.0


class _WakeableWorker(HueyWorker):
    """A Huey worker thread whose idle sleep ends early when a producer nudges (SQLite queue)."""

    wake: WakeListener | None = None

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        if self.wake is not None and self.wake.wait(self.delay):
            self.delay = self.default_delay
            return
        if self.wake is None:
            self.stop_flag.wait(self.delay)
        self.delay *= self.backoff


class _EmbeddedConsumer(Consumer):
    """Huey's consumer without process-wide signal handlers (its host process owns signals),
    with worker threads that a producer can wake."""

    worker_class = _WakeableWorker

    def __init__(self, huey, wake: WakeListener | None, **options) -> None:  # type: ignore[no-untyped-def]
        self._wake = wake  # before super().__init__, which creates the workers
        super().__init__(huey, **options)

    def _create_worker(self) -> HueyWorker:
        worker = super()._create_worker()
        worker.wake = self._wake
        return worker

    def _set_signal_handlers(self) -> None:
        pass


class Worker:
    def __init__(self, runtime: Runtime, threads: int | None = None, *, drain: bool = False):
        self.runtime = runtime
        self.drain = drain
        settings = runtime.settings
        self.wake = WakeListener(settings.home, runtime.owner.replace(":", "_")) if runtime.wakes_workers else None
        self.consumer = _EmbeddedConsumer(
            runtime.huey,
            self.wake,
            workers=threads or settings.workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=settings.poll_max,
            scheduler_interval=1,
            check_worker_health=False,
        )
        self.stopped = threading.Event()
        self._maintenance = threading.Thread(target=self._maintain, name="mcp-push-maintenance", daemon=True)

    def start(self) -> None:
        self.runtime.ledger.heartbeat(self.runtime.owner, time.time(), "drain" if self.drain else "worker")
        self.runtime.sweep()
        self._purge()
        self.consumer.start()
        self._maintenance.start()

    def _purge(self) -> None:
        """Retention: drop settled notifications older than MCP_PUSH_RETENTION_DAYS (daily)."""
        cutoff = time.time() - self.runtime.settings.retention_days * 86400
        purged = self.runtime.ledger.purge(cutoff)
        if purged:
            log.info("purged %d settled notifications older than %g days", purged, self.runtime.settings.retention_days)

    def stop(self, timeout: float = 5.0) -> list[int]:
        """Stop consuming; hand back what is still in flight so another worker takes it at once."""
        self.stopped.set()
        self.consumer.shutdown_timeout = timeout
        self.consumer.stop(graceful=True)
        released = self.runtime.ledger.release_owner(self.runtime.owner, time.time())
        self.runtime.ledger.forget_worker(self.runtime.owner)
        if self._maintenance.is_alive():
            self._maintenance.join(timeout=2)
        if self.wake is not None:
            self.wake.close()
        return released

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from another thread, or the drain finishing)."""
        while not self.stopped.wait(0.5):
            pass

    def _maintain(self) -> None:
        settings = self.runtime.settings
        last_sweep = last_beat = last_purge = time.monotonic()
        while not self.stopped.wait(min(settings.sweep_seconds, HEARTBEAT_SECONDS, 0.5)):
            try:
                now = time.monotonic()
                if now - last_beat >= HEARTBEAT_SECONDS:
                    self.runtime.ledger.heartbeat(self.runtime.owner, time.time(), "drain" if self.drain else "worker")
                    last_beat = now
                if now - last_sweep >= settings.sweep_seconds:
                    self.runtime.sweep()
                    last_sweep = now
                if now - last_purge >= PURGE_EVERY:
                    self._purge()
                    last_purge = now
                if self.drain and self.runtime.ledger.unfinished_count() == 0:
                    log.info("drain finished: nothing left to deliver")
                    self.stopped.set()
                if not settings.home.is_dir():
                    log.warning("MCP_PUSH_HOME %s is gone; stopping", settings.home)
                    self.stopped.set()
            except Exception:  # keep maintaining; the next round may succeed (e.g. a locked database)
                log.exception("maintenance round failed")


# --- the detached drainer -------------------------------------------------------


def drain_lock_path(settings: Settings) -> Path:
    return settings.home / "drain.lock"


def try_lock(path: Path) -> IO[str] | None:
    """An exclusive, non-blocking lock held while the returned file stays open."""
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def spawn_drainer(settings: Settings) -> subprocess.Popen[bytes]:
    """Start ``mcp-push worker --drain`` detached from this process, so it outlives us."""
    env = dict(os.environ)
    env["MCP_PUSH_HOME"] = str(settings.home)
    if settings.config_file is not None:
        env["MCP_PUSH_CONFIG"] = str(settings.config_file)
    log_path = settings.home / "drain.log"
    with open(log_path, "ab") as log_file:
        os.chmod(log_path, 0o600)
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "worker", "--drain"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=env,
            start_new_session=True,
            close_fds=True,
        )


def ensure_delivery(runtime: Runtime) -> subprocess.Popen[bytes] | None:
    """Make sure someone will deliver what is queued: a live worker, or a drainer we start."""
    if runtime.ledger.unfinished_count() == 0:
        return None
    if runtime.ledger.live_workers(time.time(), LIVE_WITHIN):
        return None
    return spawn_drainer(runtime.settings)


def run_worker(settings: Settings, *, threads: int | None = None, drain: bool = False) -> int:
    """``mcp-push worker``: consume until SIGTERM/SIGINT, or (``--drain``) until nothing is left."""
    import signal

    runtime = Runtime.open(settings)
    lock = None
    try:
        if drain:
            lock = try_lock(drain_lock_path(settings))
            if lock is None:
                log.info("another drainer is already running")
                return 0
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while True:
            worker = Worker(runtime, threads, drain=drain)
            worker.start()
            while not (worker.stopped.is_set() or stop.is_set()):
                stop.wait(0.2)
            worker.stop()
            if stop.is_set() or not drain:
                return 0
            # Drained. Let go of the lock, then look once more: a sender that found the lock
            # taken relies on us to see what it queued just before we let go.
            lock.close()
            lock = None
            if runtime.ledger.unfinished_count() == 0:
                return 0
            lock = try_lock(drain_lock_path(settings))
            if lock is None:
                return 0
    finally:
        if lock is not None:
            lock.close()
        runtime.close()
