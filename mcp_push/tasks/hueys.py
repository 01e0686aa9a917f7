"""The Huey classes mcp-push runs: Huey's own, minus the revocation flags the ledger makes redundant.

Huey reads a task's revocation flags before every run and clears them after it: on Redis and
PostgreSQL two round trips per task, about a quarter of a delivery's queue work. mcp-push never
revokes a task: whether a delivery is sent is decided by its claim in the ledger (a task for a
delivery already sent, or held, claims nothing and ends). So a task is never revoked here, and
revoking one raises instead of being silently ignored.

The SQLite queue also runs with WAL + synchronous=NORMAL, like the ledger: Huey's SQLite storage
fsyncs every enqueue by default (synchronous=FULL), which was 85% of notify_send's time. The
ledger is the truth, and a task lost with the last moments before a power cut is rebuilt by the
sweep; NORMAL in WAL mode still survives any crash of the process.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NoReturn

from huey import PostgresHuey, RedisHuey, SqliteHuey
from huey.api import Huey, Task
from huey.storage import SqliteStorage

_REVOKE_FLAG = Task(id="-").revoke_id.removesuffix("-")  # the prefix of every task's revocation key ("r:")


class _LedgerDecides(Huey):
    """Huey without revocation: the ledger's claim decides whether a delivery runs."""

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> bool:
        if key.startswith(_REVOKE_FLAG):  # the flag Huey clears after each run: never set here
            return False
        return bool(super().delete(key))

    def revoke(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("mcp-push does not revoke tasks: cancel the delivery in the ledger")

    revoke_by_id = revoke_all = revoke


class _NormalSyncStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


class SqliteQueue(_LedgerDecides, SqliteHuey):
    storage_class = _NormalSyncStorage


class RedisQueue(_LedgerDecides, RedisHuey):
    pass


class PostgresQueue(_LedgerDecides, PostgresHuey):
    pass
