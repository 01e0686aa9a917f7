"""Wiring for one process: settings and ledger always; the queue and the delivery machinery on demand.

A producer (``send``, ``hook``, the MCP tools) needs only the ledger: it commits its rows
and hands their ids to a worker (``dispatch``), so with the SQLite queue it never imports
Huey, tenacity or httpx. The queue is opened the first time something enqueues or counts
(a worker, the sweep, the dashboard's queue depth), and the Deliverer (with its HTTP
clients and Hitokoto) the first time a task runs or a worker starts. Every process that
does register the delivery task registers it under the same name, on a Huey backed by the
same queue.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import quote

from mcp_push.config import Settings, prepare_home
from mcp_push.errors import ConfigError
from mcp_push.storage import Ledger, open_ledger
from mcp_push.storage.base import live_worker_count
from mcp_push.tasks.wakeup import hand_over, wake_all

if TYPE_CHECKING:
    from huey.api import Huey, TaskWrapper

    from mcp_push.channels.base import HttpClients
    from mcp_push.tasks.delivery import Deliverer

log = logging.getLogger(__name__)

# Set by the command line for the processes that consume (serve, worker, test): their settings
# are fixed for their whole life, so Huey may be imported for exactly the queue they use.
LEAN_QUEUE_IMPORT = False
QUEUE_DRIVERS = ("redis", "psycopg")


def unused_drivers(settings: Settings) -> list[str]:
    """The queue drivers these settings never use: redis without a Redis queue, psycopg without PostgreSQL."""
    used = {
        "redis": settings.queue_backend == "redis",
        "psycopg": bool(settings.db_url) or settings.queue_backend == "postgres",
    }
    return [name for name in QUEUE_DRIVERS if not used[name]]


def import_huey(settings: Settings) -> None:
    """Import Huey for this process's queue.

    Huey imports redis and psycopg whenever they are installed (psycopg alone about 10 MB of
    memory, both together 40 MB and 150 ms). A command-line process uses at most the drivers its
    settings name, so there Huey is imported with the others (those not already loaded) hidden
    from it: its storages for them then refuse to start, which such a process never asks for,
    and anything else may still import the drivers. Library callers (tests mixing backends in
    one process) get Huey as it comes.
    """
    if "huey" in sys.modules or not LEAN_QUEUE_IMPORT:
        return
    hidden = [name for name in unused_drivers(settings) if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import redis" raises ImportError
    try:
        import huey  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"  # not uuid: it imports platform


def queue_file_error(settings: Settings, exc: sqlite3.DatabaseError) -> ConfigError:
    return ConfigError(
        f"the queue {settings.queue_path} is not a usable SQLite database ({exc}); "
        "move it aside (queued tasks are rebuilt from the ledger by the sweep) or point MCP_PUSH_HOME elsewhere"
    )


def check_queue_file(settings: Settings) -> None:
    """Read the SQLite queue's header without Huey: a broken file is one clear error in every command.

    A missing file is fine (the first worker creates it); nothing is created here.
    """
    if not settings.queue_path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{quote(str(settings.queue_path))}?mode=rw", uri=True, timeout=5)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return  # busy or locked for longer than the timeout: a worker is using it, and will report trouble
    except sqlite3.DatabaseError as exc:  # "file is not a database", a damaged header
        raise queue_file_error(settings, exc) from exc


@dataclass
class Runtime:
    settings: Settings
    ledger: Ledger
    owner: str = field(default_factory=new_owner)
    _huey: Huey | None = field(default=None, repr=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def open(cls, settings: Settings, *, queue: bool | None = None) -> Runtime:
        """Open the ledger (and the queue), or raise one ConfigError that says what is wrong with them.

        ``queue`` None: the queue is opened now only when it is a server (MCP_PUSH_QUEUE_URL), which
        every producer then enqueues to, so a bad URL is reported at once; the SQLite queue's file
        is only checked, and opened when something needs it. Workers pass True.
        """
        prepare_home(settings)
        runtime = cls(settings, open_ledger(settings))
        try:
            if queue or (queue is None and not runtime.wakes_workers):
                runtime.huey  # noqa: B018 - open and touch it now
            elif runtime.wakes_workers:
                check_queue_file(settings)
        except BaseException:
            runtime.ledger.close()  # e.g. an unreachable queue server: do not leave a PostgreSQL pool open
            raise
        return runtime

    # --- the queue (opened on first use) -----------------------------------------------------
    @property
    def huey(self) -> Huey:
        """The queue, opened on first use (once, whichever thread asks first)."""
        if self._huey is None:
            with self._opening:
                if self._huey is None:
                    import_huey(self.settings)
                    from mcp_push.tasks.queue import open_queue

                    self._huey = open_queue(self.settings)
        return self._huey

    @cached_property
    def delivery_task(self) -> TaskWrapper:
        """The delivery task registered on this process's Huey (the consumer runs it by name)."""
        from mcp_push.tasks.queue import TASK_NAME

        return self.huey.task(name=TASK_NAME)(self._run)

    def _run(self, delivery_id: int) -> str:
        """The delivery task, as a worker's consumer runs it."""
        return self.deliverer.run(delivery_id)

    # --- the delivery machinery (built where a worker runs) ------------------------------------
    @cached_property
    def clients(self) -> HttpClients:
        from mcp_push.channels.base import HttpClients

        return HttpClients(self.settings.http_timeout)

    @cached_property
    def deliverer(self) -> Deliverer:
        from mcp_push.tasks.delivery import Deliverer

        return Deliverer(self.settings, self.ledger, self.clients, self.owner, self.enqueue)

    @property
    def wakes_workers(self) -> bool:
        """Only the SQLite queue needs nudging; Redis blocks and PostgreSQL listens by themselves."""
        return self.settings.queue_backend == "sqlite"

    # --- putting work on the queue -------------------------------------------------------
    def dispatch(self, delivery_ids: list[int]) -> None:
        """See that deliveries just committed reach a worker, as cheaply as this queue allows.

        SQLite queue: hand the ids to a listening worker, which enqueues them; no queue is
        opened here. Only when no worker listens but one is alive (a worker whose home
        could not hold a socket polls) are they enqueued here. With no worker at all they
        wait in the ledger for the next one to start (``drain.ensure_delivery`` starts one).
        A queue server: enqueue, as its workers block on it.
        """
        if not delivery_ids:
            return
        if self.wakes_workers:
            if hand_over(self.settings.home, delivery_ids):
                return
            if live_worker_count(self.ledger, time.time()) == 0:
                return
        self.enqueue_many(delivery_ids)

    def enqueue(self, delivery_id: int, delay: float = 0.0) -> None:
        """Put a delivery task on the queue, now or after ``delay`` seconds."""
        if delay > 0:
            self.delivery_task.schedule(args=(delivery_id,), delay=delay)
            return
        self.enqueue_many([delivery_id])

    def enqueue_many(self, delivery_ids: list[int]) -> None:
        """Enqueue several deliveries now, then nudge idle workers once."""
        for delivery_id in delivery_ids:
            self.delivery_task(delivery_id)
        if delivery_ids and self.wakes_workers:
            wake_all(self.settings.home)

    def close(self) -> None:
        """Close clients, ledger and queue; HTTP clients stay open while a send still uses them.

        Closing a client under a live send is what made a stopping serve fail its attempts with
        "Bad file descriptor" (and retry them on a fresh client: duplicates). A send abandoned
        by Worker.stop ends with the process instead.
        """
        deliverer = self.__dict__.get("deliverer")
        if deliverer is not None and deliverer.active:
            log.debug("%d sends still running: leaving their HTTP clients to the process exit", deliverer.active)
        elif "clients" in self.__dict__:
            self.clients.close()
        self.ledger.close()
        if self._huey is not None:
            self._huey.storage.close()
