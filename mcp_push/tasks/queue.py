"""The queue factory: which Huey a process talks to (SQLite in MCP_PUSH_HOME, Redis, PostgreSQL).

Only processes that consume or enqueue directly import this module (and with it Huey, which
imports redis whenever redis is installed). A producer on the SQLite queue never does: it
commits its rows and nudges a worker, which enqueues them (see ``tasks.runtime``).
"""

from __future__ import annotations

import hashlib
import socket
import sqlite3

from huey.api import Huey

from mcp_push.config import Settings
from mcp_push.errors import ConfigError
from mcp_push.storage import backend_error, redact_url
from mcp_push.tasks.hueys import PostgresQueue, RedisQueue, SqliteQueue
from mcp_push.tasks.runtime import queue_file_error

TASK_NAME = "mcp_push.deliver"
QUEUE_SETTING = "MCP_PUSH_QUEUE_URL"
QUEUE_TABLE_PREFIX = "mcp_push_queue"  # PostgreSQL queue tables: mcp_push_queue_task, _schedule, _kv, _counter
SQLITE_FALLBACK = "the SQLite queue in MCP_PUSH_HOME"


def queue_name(settings: Settings) -> str:
    """The name of a shared (Redis/PostgreSQL) queue: one per ledger.

    Tasks carry only delivery ids, which mean something only in the ledger that issued
    them. Hosts that share a queue server but keep their own SQLite ledgers must not share a
    queue, so the name is derived from the ledger: the PostgreSQL database (without the
    password) when there is one, else this host's ledger file.
    """
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
        return SqliteQueue(
            "mcp-push",
            filename=str(settings.queue_path),
            results=False,
            journal_mode="wal",
            timeout=30,
        )
    if settings.queue_backend == "redis":
        return _redis_huey(url, queue_name(settings))
    return _postgres_huey(url, queue_name(settings))


def open_queue(settings: Settings) -> Huey:
    """make_huey, touched once: a broken queue file or server fails here, not later in a worker thread."""
    huey = make_huey(settings)
    try:
        huey.pending_count()
    except sqlite3.DatabaseError as exc:
        huey.storage.close()
        raise queue_file_error(settings, exc) from exc
    return huey


def _missing_driver(exc: ImportError, extra: str) -> Exception:
    return ConfigError(
        f"{QUEUE_SETTING} needs the {extra} driver ({exc.name or exc} is missing): install it with "
        f"`pip install 'mcp-push[{extra}]'`, or unset {QUEUE_SETTING} to use {SQLITE_FALLBACK}"
    )


def _redis_huey(url: str, name: str) -> Huey:
    try:
        import redis
    except ImportError as exc:
        raise _missing_driver(exc, "redis") from None
    try:
        # Options in the URL's query win over these defaults; an unreachable host fails in seconds, not minutes.
        pool = redis.ConnectionPool.from_url(
            url, socket_connect_timeout=10, socket_timeout=30, socket_keepalive=True, health_check_interval=30
        )
        huey = RedisQueue(name, results=False, connection_pool=pool)
        huey.storage.conn.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise backend_error(QUEUE_SETTING, "the Redis queue", url, exc, SQLITE_FALLBACK) from None
    return huey


def _postgres_huey(url: str, name: str) -> Huey:
    try:
        import psycopg

        from mcp_push.storage.postgres import connect_kwargs
    except ImportError as exc:
        raise _missing_driver(exc, "postgres") from None
    extra = connect_kwargs(url, QUEUE_SETTING)
    huey = PostgresQueue(name, results=False, dsn=url, table_prefix=QUEUE_TABLE_PREFIX, create_tables=False, **extra)
    try:
        # Huey's "create table if not exists" races when several processes start at once: serialize it.
        with psycopg.connect(url, autocommit=True, **extra) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('mcp-push:migrate'), hashtext('queue'))")
            for statement in huey.storage.ddl:
                conn.execute(statement)
    except psycopg.Error as exc:
        raise backend_error(QUEUE_SETTING, "the PostgreSQL queue", url, exc, SQLITE_FALLBACK) from None
    return huey
