"""Wiring for one process: settings, ledger, Huey queue, HTTP clients and the delivery task.

The server (producer) and every worker (consumer) build the same Runtime, so both
register the same task name on a Huey instance backed by the same queue file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass, field

from huey.api import Huey, TaskWrapper

from mcp_push.channels import HttpClients
from mcp_push.config import Settings, prepare_home
from mcp_push.errors import ConfigError
from mcp_push.storage import Ledger, open_ledger
from mcp_push.tasks.delivery import Deliverer
from mcp_push.tasks.sqlite_queue import LedgerBackedSqliteHuey
from mcp_push.tasks.wakeup import wake_all

log = logging.getLogger(__name__)

TASK_NAME = "mcp_push.deliver"


QUEUE_SETTING = "MCP_PUSH_QUEUE_URL"
QUEUE_TABLE_PREFIX = "mcp_push_queue"  # PostgreSQL queue tables: mcp_push_queue_task, _schedule, _kv, _counter


def queue_name(settings: Settings) -> str:
    """The name of a shared (Redis/PostgreSQL) queue: one per ledger.

    Tasks carry only delivery ids, which mean something only in the ledger that issued
    them. Hosts that share a queue server but keep their own SQLite ledgers must not share a
    queue, so the name is derived from the ledger: the PostgreSQL database (without the
    password) when there is one, else this host's ledger file.
    """
    from mcp_push.storage import redact_url

    ledger = (
        redact_url(settings.db_url) if settings.db_url else f"{socket.gethostname()}:{settings.ledger_path.resolve()}"
    )
    return f"mcp-push-{hashlib.sha256(ledger.encode()).hexdigest()[:10]}"


def make_huey(settings: Settings) -> Huey:
    """The queue the settings ask for: Redis or PostgreSQL with MCP_PUSH_QUEUE_URL, else SQLite in MCP_PUSH_HOME.

    A server that cannot be reached is reported here, at start, as one ConfigError naming the setting.
    """
    url = settings.queue_url
    if not url:
        return LedgerBackedSqliteHuey(
            "mcp-push",
            filename=str(settings.queue_path),
            results=False,
            journal_mode="wal",
            timeout=30,
        )
    if url.split("://", 1)[0].lower() in ("redis", "rediss"):
        return _redis_huey(url, queue_name(settings))
    return _postgres_huey(url, queue_name(settings))


def _missing_driver(exc: ImportError, extra: str) -> Exception:
    from mcp_push.errors import ConfigError

    return ConfigError(
        f"{QUEUE_SETTING} needs the {extra} driver ({exc.name or exc} is missing): install it with "
        f"`pip install 'mcp-push[{extra}]'`, or unset {QUEUE_SETTING} to use the SQLite queue in MCP_PUSH_HOME"
    )


def _redis_huey(url: str, name: str) -> Huey:
    from mcp_push.storage import backend_error

    try:
        import redis
        from huey import RedisHuey
    except ImportError as exc:
        raise _missing_driver(exc, "redis") from None
    try:
        # Options in the URL's query win over these defaults; an unreachable host fails in seconds, not minutes.
        pool = redis.ConnectionPool.from_url(
            url, socket_connect_timeout=10, socket_timeout=30, socket_keepalive=True, health_check_interval=30
        )
        huey = RedisHuey(name, results=False, connection_pool=pool)
        huey.storage.conn.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise backend_error(QUEUE_SETTING, "the Redis queue", url, exc, "the SQLite queue in MCP_PUSH_HOME") from None
    return huey


def _postgres_huey(url: str, name: str) -> Huey:
    from mcp_push.storage import backend_error

    try:
        import psycopg
        from huey import PostgresHuey

        from mcp_push.storage.postgres import connect_kwargs
    except ImportError as exc:
        raise _missing_driver(exc, "postgres") from None
    extra = connect_kwargs(url, QUEUE_SETTING)
    huey = PostgresHuey(name, results=False, dsn=url, table_prefix=QUEUE_TABLE_PREFIX, create_tables=False, **extra)
    try:
        # Huey's "create table if not exists" races when several processes start at once: serialize it.
        with psycopg.connect(url, autocommit=True, **extra) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('mcp-push:migrate'), hashtext('queue'))")
            for statement in huey.storage.ddl:
                conn.execute(statement)
    except psycopg.Error as exc:
        raise backend_error(
            QUEUE_SETTING, "the PostgreSQL queue", url, exc, "the SQLite queue in MCP_PUSH_HOME"
        ) from None
    return huey


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Runtime:
    settings: Settings
    ledger: Ledger
    huey: Huey
    clients: HttpClients
    owner: str = field(default_factory=new_owner)

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(self.settings, self.ledger, self.clients, self.owner, self.enqueue)
        self._task: TaskWrapper = self.huey.task(name=TASK_NAME)(self.deliverer.run)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Open ledger and queue, or raise one ConfigError that says what is wrong with them."""
        prepare_home(settings)
        ledger = open_ledger(settings)
        try:
            huey = make_huey(settings)
            huey.pending_count()  # touch the queue now: a broken file fails here, not in a worker thread
        except sqlite3.DatabaseError as exc:
            ledger.close()
            raise ConfigError(
                f"the queue {settings.queue_path} is not a usable SQLite database ({exc}); "
                "move it aside (queued tasks are rebuilt from the ledger by the sweep) or point MCP_PUSH_HOME elsewhere"
            ) from exc
        except BaseException:
            ledger.close()  # e.g. an unreachable queue server: do not leave a PostgreSQL pool open
            raise
        return cls(settings, ledger, huey, HttpClients(settings.http_timeout))

    @property
    def wakes_workers(self) -> bool:
        """Only the SQLite queue needs nudging; Redis blocks and PostgreSQL listens by themselves."""
        return self.settings.queue_url is None

    def enqueue(self, delivery_id: int, delay: float = 0.0) -> None:
        """Put a delivery task on the queue, now or after ``delay`` seconds."""
        if delay > 0:
            self._task.schedule(args=(delivery_id,), delay=delay)
            return
        self.enqueue_many([delivery_id])

    def enqueue_many(self, delivery_ids: list[int]) -> None:
        """Enqueue several deliveries now, then nudge idle workers once."""
        for delivery_id in delivery_ids:
            self._task(delivery_id)
        if delivery_ids and self.wakes_workers:
            wake_all(self.settings.home)

    def sweep(self) -> list[int]:
        """Re-enqueue deliveries whose task was lost.

        An expired lease always means a lost task (a worker died holding it). A pending row
        that has waited long is only presumed lost when the queue is empty: while tasks are
        queued, its own task is probably among them, and re-enqueueing a whole backlog on
        every sweep would only multiply the queue.
        """
        now = time.time()
        queue_empty = self.huey.pending_count() == 0
        due = self.ledger.due_for_sweep(now, max(self.settings.lease_seconds, 30.0), unclaimed=queue_empty)
        self.enqueue_many(due)
        self.ledger.mark_enqueued(due, now)
        if due:
            log.info("sweep re-enqueued %d deliveries", len(due))
        return due

    def close(self) -> None:
        """Close clients, ledger and queue; HTTP clients stay open while a send still uses them.

        Closing a client under a live send is what made a stopping serve fail its attempts with
        "Bad file descriptor" (and retry them on a fresh client: duplicates). A send abandoned
        by Worker.stop ends with the process instead.
        """
        if self.deliverer.active:
            log.debug("%d sends still running: leaving their HTTP clients to the process exit", self.deliverer.active)
        else:
            self.clients.close()
        self.ledger.close()
        self.huey.storage.close()
