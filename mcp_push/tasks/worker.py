"""The consumer: Huey's worker threads inside any process (``serve``, ``worker``, the drainer).

A Worker runs Huey's consumer in threads (no signal handlers of its own, so it can live
inside the MCP server), listens for producers' nudges and handed-over deliveries (SQLite
queue), and stops by handing back what it holds. Heartbeats, the sweep and retention are
``tasks.maintenance``; the answers to asks (Telegram, ntfy) are read by ``asking.listeners``;
the ``worker`` command and the drainer are ``tasks.drain``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey.consumer import Consumer
from huey.consumer import Worker as HueyWorker

from mcp_push.asking.listeners import Listeners
from mcp_push.config import Settings
from mcp_push.tasks.lifecycle import HANDBACK_SECONDS, bounded
from mcp_push.tasks.maintenance import Maintenance
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.wakeup import WakeListener

log = logging.getLogger(__name__)


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
        huey = runtime.huey
        runtime.delivery_task  # noqa: B018 - registered before a handed-over id can be enqueued
        self.wake = _wake_listener(settings, runtime) if runtime.wakes_workers else None
        self.consumer = _EmbeddedConsumer(
            huey,
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
        self.maintenance = Maintenance(runtime, self.stopped, drain=drain)
        self.listeners = Listeners(settings, runtime.ledger, runtime.clients, runtime.owner, self.stopped)

    def start(self) -> None:
        self.runtime.deliverer.resume()
        self.maintenance.beat()
        self._started = True
        self.consumer.start()
        # Then the maintenance thread: it first enqueues what the ledger holds without a task (the
        # consumer threads take the first ones as they are enqueued) and purges.
        try:
            self.maintenance.start()
            self.listeners.start()  # answers to asks, while any wait
        except BaseException:
            self.stop(0)  # no consumer threads left behind by a start that failed
            raise

    def stop(self, timeout: float | None = None, *, hurry: Callable[[], bool] | None = None) -> list[int]:
        """Stop taking work and hand back what is in flight, so another worker sends it at once.

        Waits and not-yet-started attempts end now and go back to the queue. A send already
        on the wire gets ``timeout`` seconds (MCP_PUSH_STOP_GRACE) to finish (less if ``hurry()`` turns true): its
        provider's answer is the truth, and sending it again would be a duplicate. One still
        running after that is released too (the only case where the provider may see it
        twice). Talking to the ledger is bounded, so a database that hangs cannot keep the
        process alive: what could not be released comes back when its lease expires.
        Returns the ids released.
        """
        if self._stopping:
            return []
        if timeout is None:
            timeout = self.runtime.settings.stop_grace
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
        self.listeners.stop(0)  # they end on their own; a long poll or a hung ledger must not hold the stop
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


def _wake_listener(settings: Settings, runtime: Runtime) -> WakeListener | None:
    """This worker's wake-up socket, or None (plain polling) if MCP_PUSH_HOME/wake cannot hold one.

    Deliveries handed over on it are enqueued at once (and every idle worker of the home woken).
    """
    try:
        return WakeListener(settings.home, runtime.owner.replace(":", "_"), on_ids=runtime.enqueue_many)
    except OSError as exc:
        log.warning("no wake-up socket in %s (%s); polling the queue instead", settings.home, exc)
        return None
