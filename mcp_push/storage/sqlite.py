"""The ledger in one SQLite file (WAL), safe for many threads and processes on one host.

The statements are the SQL base's; here are only the connections, the write transaction
(``BEGIN IMMEDIATE``: one file lock serializes every writer, so racing writers need no lock
of their own) and SQLite's spelling of a few things.

Reads use one connection per thread, in autocommit. Writes of every thread of the process
take turns on one connection: they are serialized anyway, and a connection that only its own
writes changed keeps its page cache, where a thread's connection re-reads the pages another
connection wrote since its last turn (under four worker threads that tripled a claim's CPU time).
A write of one statement runs without BEGIN/COMMIT (it is its own transaction).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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
        # Every thread's read connection with the lock its thread holds while on it: close() takes
        # each in turn (and _writer for the write connection), so it never closes a connection under
        # a statement (that crashes the interpreter).
        self._all: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._all_lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler, which sleeps
        # 1, 2, 5 ... 100 ms between looks at a lock another thread holds for a fraction of a millisecond.
        self._writer = threading.Lock()
        self._writer_conn: sqlite3.Connection | None = None  # made on the first write, under _writer
        self._migrate()

    # --- connections ------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"the ledger {self.path} cannot be opened ({exc}); move it aside or point MCP_PUSH_HOME elsewhere"
            ) from exc
        return conn

    @contextmanager
    def _write_turn(self) -> Iterator[sqlite3.Connection]:
        """The process's write connection, for this thread alone until the block ends.

        Threads of one process take turns on ``_writer`` (woken the moment it is free);
        SQLite's busy timeout is then only between processes.
        """
        if not self._writer.acquire(timeout=self._busy_timeout):
            raise sqlite3.OperationalError(f"database is locked: no write turn within {self._busy_timeout:g}s")
        try:
            if self._writer_conn is None:
                self._writer_conn = self._connect()
            yield self._writer_conn
        finally:
            self._writer.release()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (no upgrade deadlocks)."""
        with self._write_turn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _write_one(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write_turn()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reads."""
        held = getattr(self._local, "conn", None)
        if held is None:
            held = self._local.conn = (self._connect(), threading.RLock())
            with self._all_lock:
                self._all.append(held)
        conn, in_use = held
        with in_use:
            yield conn

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
        """Close every connection, each once the statement on it (if any) has ended.

        A thread that outlives its worker (a listener finishing a long poll) may still be reading
        or writing: closing a connection under its statement crashed the interpreter. Such a
        thread's next call opens a connection of its own again.
        """
        with self._all_lock:
            readers, self._all = self._all, []
            self._local = threading.local()
        for conn, in_use in readers:  # no lock held meanwhile: a reader may be waiting for a write turn
            with in_use:
                conn.close()
        with self._writer:
            if self._writer_conn is not None:
                self._writer_conn.close()
                self._writer_conn = None
