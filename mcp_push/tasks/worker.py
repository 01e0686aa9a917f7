"""Consumers: the embedded worker of ``serve``, the ``worker`` service, and the detached drainer.

A Worker runs Huey's consumer in threads (no signal handlers of its own, so it can live
inside the MCP server) plus a maintenance thread that records heartbeats, sweeps lost
deliveries back into the queue and, in drain mode, stops once nothing is left to deliver.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from huey.consumer import Consumer
from huey.consumer import Worker as HueyWorker

from mcp_push.config import Settings, prepare_home
from mcp_push.errors import ConfigError
from mcp_push.tasks.lifecycle import (
    CLOSE_SECONDS,
    DEFAULT_GRACE,
    DRAIN_GRACE_MAX,
    HANDBACK_SECONDS,
    StopSignals,
    bounded,
    open_when_ready,
    stop_grace,
)
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
        self.wake = _wake_listener(settings, runtime) if runtime.wakes_workers else None
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
        self.clean = True  # after stop: every send finished and the ledger took the hand-back
        self._started = self._stopping = False
        self._maintenance = threading.Thread(target=self._maintain, name="mcp-push-maintenance", daemon=True)

    def start(self) -> None:
        self.runtime.deliverer.resume()
        self.runtime.ledger.heartbeat(self.runtime.owner, time.time(), "drain" if self.drain else "worker")
        self.runtime.sweep()
        self._purge()
        self._started = True
        self.consumer.start()
        self._maintenance.start()

    def _purge(self) -> None:
        """Retention: drop settled notifications older than MCP_PUSH_RETENTION_DAYS (daily)."""
        cutoff = time.time() - self.runtime.settings.retention_days * 86400
        purged = self.runtime.ledger.purge(cutoff)
        if purged:
            log.info("purged %d settled notifications older than %g days", purged, self.runtime.settings.retention_days)

    def stop(self, timeout: float = DEFAULT_GRACE, *, hurry: Callable[[], bool] | None = None) -> list[int]:
        """Stop taking work and hand back what is in flight, so another worker sends it at once.

        Waits and not-yet-started attempts end now and go back to the queue. A send already
        on the wire gets ``timeout`` seconds to finish (less if ``hurry()`` turns true): its
        provider's answer is the truth, and sending it again would be a duplicate. One still
        running after that is released too (the only case where the provider may see it
        twice). Talking to the ledger is bounded, so a database that hangs cannot keep the
        process alive: what could not be released comes back when its lease expires.
        Returns the ids released.
        """
        if self._stopping:
            return []
        self._stopping = True
        self.stopped.set()
        deliverer = self.runtime.deliverer
        self.consumer.stop_flag.set()  # first, so no thread takes another task once halted
        deliverer.halt.set()
        finished = deliverer.wait_idle(timeout, hurry) if self._started else True
        if not finished:
            deliverer.abandoned.set()
            log.warning(
                "%d deliveries were still sending %gs after the stop; handing them back to the queue "
                "(their provider may see them twice)",
                deliverer.active,
                timeout,
            )
        if self.wake is not None:
            self.wake.close()
        handed, released = bounded(self._hand_back, HANDBACK_SECONDS, "handing back in-flight deliveries")
        threads_done = self._join_threads(0.5) if self._started and finished else not self._started
        self.clean = finished and handed and threads_done
        if released:
            log.info("handed %d in-flight deliveries back to the queue", len(released))
        return released or []

    def _hand_back(self) -> list[int]:
        """Release this worker's claims and enqueue them at once (not at the next sweep); leave the roll."""
        runtime, now = self.runtime, time.time()
        released = runtime.ledger.release_owner(runtime.owner, now)
        if released:
            runtime.enqueue_many(released)
            runtime.ledger.mark_enqueued(released, now)
        runtime.ledger.forget_worker(runtime.owner)
        return released

    def _join_threads(self, seconds: float) -> bool:
        """Let Huey's threads leave their loops (a poll, a blocking dequeue) so the queue can be closed."""
        deadline = time.monotonic() + seconds
        threads = [t for _, t in self.consumer.worker_threads] + [self.consumer.scheduler]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from another thread, or the drain finishing)."""
        while not self.stopped.wait(0.5):
            pass

    def _maintain(self) -> None:
        settings = self.runtime.settings
        last_sweep = last_beat = last_purge = time.monotonic()
        while not self.stopped.wait(min(settings.sweep_seconds, HEARTBEAT_SECONDS, 0.5)):
            if not settings.home.is_dir():  # first: with its files unlinked, every write below fails
                log.warning("MCP_PUSH_HOME %s is gone; stopping", settings.home)
                self.stopped.set()
                return
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
            except Exception:  # keep maintaining; the next round may succeed (e.g. a locked database)
                if self.stopped.is_set():
                    return
                log.exception("maintenance round failed")


def _wake_listener(settings: Settings, runtime: Runtime) -> WakeListener | None:
    """This worker's wake-up socket, or None (plain polling) if MCP_PUSH_HOME/wake cannot hold one."""
    try:
        return WakeListener(settings.home, runtime.owner.replace(":", "_"))
    except OSError as exc:
        log.warning("no wake-up socket in %s (%s); polling the queue instead", settings.home, exc)
        return None


# --- the detached drainer -------------------------------------------------------


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


def ensure_delivery(runtime: Runtime, *, exclude: str | None = None) -> subprocess.Popen[bytes] | None:
    """Make sure someone will deliver what is queued: a live worker (other than ``exclude``), or a drainer."""
    if runtime.ledger.unfinished_count() == 0:
        return None
    if [w for w in runtime.ledger.live_workers(time.time(), LIVE_WITHIN) if w != exclude]:
        return None
    return spawn_drainer(runtime.settings)


def run_worker(settings: Settings, *, threads: int | None = None, drain: bool = False) -> int:
    """``mcp-push worker``: consume until SIGTERM/SIGINT, or (``--drain``) until nothing is left.

    Started before its PostgreSQL or Redis, it waits for them. A stop hands back what is in
    flight and exits 0 within a few seconds (a drain worker within 5), whatever the servers do.
    """
    signals = StopSignals().install()
    lock = None
    runtime = None
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
            if runtime.ledger.unfinished_count() == 0:
                return 0
            lock = try_lock(drain_lock_path(settings))
            if lock is None:
                return 0
    finally:
        if lock is not None:
            lock.close()
        if runtime is not None:
            bounded(runtime.close, CLOSE_SECONDS, "closing the ledger and the queue")
        signals.restore()
