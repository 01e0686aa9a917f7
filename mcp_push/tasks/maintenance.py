"""What a worker does besides delivering: heartbeats, the sweep, releasing what the attention
rules held, retention, and noticing a drain is done.

The ledger is the truth and the queue only transport, so the queue is rebuilt from the ledger
here: at start (deliveries that producers committed while no worker listened) and every
MCP_PUSH_SWEEP_SECONDS (tasks lost with a dead worker or a lost queue).
"""

from __future__ import annotations

import logging
import threading
import time

from mcp_push.asking.listeners import asks_open
from mcp_push.storage.base import HEARTBEAT_SECONDS, live_worker_count
from mcp_push.tasks.runtime import Runtime

log = logging.getLogger(__name__)

PURGE_EVERY = 86400.0


def sweep(runtime: Runtime) -> list[int]:
    """Re-enqueue deliveries whose task was lost.

    An expired lease always means a lost task (a worker died holding it). A pending row
    that has waited long is only presumed lost when the queue is empty: while tasks are
    queued, its own task is probably among them, and re-enqueueing a whole backlog on
    every sweep would only multiply the queue.
    """
    now = time.time()
    queue_empty = runtime.huey.pending_count() == 0
    due = runtime.ledger.due_for_sweep(now, max(runtime.settings.lease_seconds, 30.0), unclaimed=queue_empty)
    _enqueue(runtime, due, now)
    if due:
        log.info("sweep re-enqueued %d deliveries", len(due))
    return due


def catch_up(runtime: Runtime, *, drain: bool) -> list[int]:
    """At a worker's start: enqueue every due delivery if nobody else could have queued it.

    Producers on the SQLite queue only commit their rows and hand the ids to a listening
    worker; rows committed while none listened have no task yet. When the queue is empty,
    no other worker is alive, or this is a drainer (started to deliver exactly what is
    left), every due pending/retrying row is enqueued now; a row that did have a task gets
    a second one, which its claim turns away. On a shared (Redis/PostgreSQL) queue producers
    enqueue their own rows, so there only an empty queue calls for this; a full one would be
    doubled. Otherwise this is the regular sweep.
    """
    now = time.time()
    shared = runtime.settings.queue_backend != "sqlite"
    alone = drain or live_worker_count(runtime.ledger, now, exclude=runtime.owner) == 0
    if runtime.huey.pending_count() == 0 or (alone and not shared):
        due = runtime.ledger.due_for_sweep(now, 0.0, unclaimed=True)
        _enqueue(runtime, due, now)
        if due:
            log.info("enqueued %d deliveries waiting in the ledger", len(due))
        return due
    return sweep(runtime)


def _enqueue(runtime: Runtime, ids: list[int], now: float) -> None:
    runtime.enqueue_many(ids)
    runtime.ledger.mark_enqueued(ids, now)


def release(runtime: Runtime) -> list[int]:
    """The attention rules' held deliveries whose time has come: released, folded into digests
    or dropped (``attention.release``), and what became pending enqueued. Cheap when nothing is
    due: one indexed read of the earliest release time."""
    now = time.time()
    at = runtime.ledger.next_release()
    if at is None or at > now:
        return []
    from mcp_push.attention.release import release_due
    from mcp_push.attention.rules import rules_for

    pending = release_due(runtime.ledger, rules_for(runtime.settings), now)
    _enqueue(runtime, pending, now)
    return pending


def purge(runtime: Runtime) -> int:
    """Retention: drop settled notifications older than MCP_PUSH_RETENTION_DAYS (daily)."""
    days = runtime.settings.retention_days
    purged = runtime.ledger.purge(time.time() - days * 86400)
    if purged:
        log.info("purged %d settled notifications older than %g days", purged, days)
    return purged


class Maintenance:
    """The maintenance thread of one worker; it sets ``stopped`` when the worker should end."""

    def __init__(self, runtime: Runtime, stopped: threading.Event, *, drain: bool = False):
        self.runtime = runtime
        self.stopped = stopped
        self.drain = drain
        self._thread = threading.Thread(target=self._loop, name="mcp-push-maintenance", daemon=True)

    def beat(self) -> None:
        self.runtime.ledger.heartbeat(self.runtime.owner, time.time(), "drain" if self.drain else "worker")

    def start(self) -> None:
        """Start the loop in its thread: first the catch-up and a purge, then the rounds.

        Not here in the caller's thread: a database that hangs at that moment would hold the
        process's main thread, which must stay free to act on SIGTERM.
        """
        self._thread.start()

    def _first_round(self) -> bool:
        try:
            catch_up(self.runtime, drain=self.drain)
            release(self.runtime)
            purge(self.runtime)
            return True
        except Exception as exc:  # the next round tries again (a locked or unreachable database)
            if not self.stopped.is_set():
                log.warning("catching up with the ledger failed, trying again: %s", exc)
            return False

    def _loop(self) -> None:
        settings, ledger = self.runtime.settings, self.runtime.ledger
        caught_up = self._first_round()
        last_sweep = last_beat = last_purge = time.monotonic()
        while not self.stopped.wait(min(settings.sweep_seconds, HEARTBEAT_SECONDS, 0.5)):
            if not settings.home.is_dir():  # first: with its files unlinked, every write below fails
                log.warning("MCP_PUSH_HOME %s is gone; stopping", settings.home)
                self.stopped.set()
                return
            if not caught_up:
                caught_up = self._first_round()
                continue
            try:
                now = time.monotonic()
                if now - last_beat >= HEARTBEAT_SECONDS:
                    self.beat()
                    last_beat = now
                if now - last_sweep >= settings.sweep_seconds:
                    sweep(self.runtime)
                    last_sweep = now
                release(self.runtime)
                if now - last_purge >= PURGE_EVERY:
                    purge(self.runtime)
                    last_purge = now
                if self.drain and ledger.unfinished_count() == 0 and not asks_open(ledger, time.time()):
                    log.info("drain finished: nothing left to deliver and no ask waiting")
                    self.stopped.set()
            except Exception:  # keep maintaining; the next round may succeed (e.g. a locked database)
                if self.stopped.is_set():
                    return
                log.exception("maintenance round failed")
