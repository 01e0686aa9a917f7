"""SqliteHuey with WAL + synchronous=NORMAL, like the ledger.

Huey's SQLite storage fsyncs every enqueue by default (synchronous=FULL), which was 85% of
notify_send's time. The queue does not need that: the ledger is the truth, and a task lost
with the last moments before a power cut is rebuilt by the sweep. NORMAL in WAL mode still
survives any crash of the process.
"""

from __future__ import annotations

import sqlite3

from huey import SqliteHuey
from huey.storage import SqliteStorage


class _NormalSyncStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


class LedgerBackedSqliteHuey(SqliteHuey):
    storage_class = _NormalSyncStorage
