"""The ledger in one SQLite file (WAL), safe for many threads and processes on one host.

The statements are the SQL base's; here are only the connections (one per thread, in
autocommit), the write transaction (``BEGIN IMMEDIATE``: one file lock serializes every
writer, so racing writers need no lock of their own) and SQLite's spelling of a few things.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from mcp_push.errors import ConfigError
from mcp_push.storage.sql import SqlLedger


class SqliteLedger(SqlLedger):
    TYPES: ClassVar[dict[str, str]] = {"real": "REAL", "id": "INTEGER PRIMARY KEY", "ref": "INTEGER", "seq": ""}
    ORDER = "rowid"
    BUCKET = "CAST(a.finished_at / ? AS INTEGER) * ?"

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0):
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler, which sleeps
        # 1, 2, 5 ... 100 ms between looks at a lock another thread holds for a fraction of a millisecond.
        self._writer = threading.Lock()
        self._migrate()

    # --- connections ------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise ConfigError(
                    f"the ledger {self.path} cannot be opened ({exc}); move it aside or point MCP_PUSH_HOME elsewhere"
                ) from exc
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (no upgrade deadlocks).

        Threads of one process take turns on ``_writer`` first (woken the moment it is free);
        SQLite's busy timeout is then only between processes.
        """
        conn = self._conn()
        if not self._writer.acquire(timeout=self._busy_timeout):
            raise sqlite3.OperationalError(f"database is locked: no write turn within {self._busy_timeout:g}s")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
        finally:
            self._writer.release()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield self._conn()

    def _schema_version(self, conn: Any) -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _set_schema_version(self, conn: Any, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version)}")

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))

    def _migrate(self) -> None:
        try:
            with self._write() as conn:
                self._upgrade(conn)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"the ledger {self.path} is not a usable SQLite database ({exc}); "
                "move it aside or point MCP_PUSH_HOME at another directory"
            ) from exc

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
