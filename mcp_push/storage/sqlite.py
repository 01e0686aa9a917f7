"""The ledger in one SQLite file (WAL), safe for many threads and processes on one host."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp_push.errors import ConfigError
from mcp_push.storage.base import (
    TICKET_COLUMNS,
    Attempt,
    Delivery,
    Ledger,
    NewTicket,
    TicketRecord,
    delivery_from_row,
    ticket_from_rows,
)

# Versioned migrations: entry N brings a database from user_version N to N+1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tickets (
        ticket TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        event TEXT,
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        data TEXT,
        reason TEXT,
        idempotency_key TEXT UNIQUE,
        created_at REAL NOT NULL
    );
    CREATE INDEX tickets_run ON tickets (run_id, created_at);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        ticket TEXT NOT NULL REFERENCES tickets (ticket),
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        delivered_at REAL,
        next_attempt_at REAL,
        lease_owner TEXT,
        lease_until REAL,
        enqueued_at REAL,
        UNIQUE (ticket, channel)
    );
    CREATE INDEX deliveries_open ON deliveries (status) WHERE status NOT IN ('delivered', 'failed');
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT
    );
    CREATE INDEX attempts_delivery ON attempts (delivery_id);
    CREATE TABLE rate_slots (key TEXT NOT NULL, at REAL NOT NULL);
    CREATE INDEX rate_slots_key ON rate_slots (key, at);
    CREATE TABLE workers (worker_id TEXT PRIMARY KEY, seen_at REAL NOT NULL, info TEXT);
    """,
    """
    ALTER TABLE tickets ADD COLUMN fingerprint TEXT;
    CREATE INDEX tickets_fingerprint ON tickets (fingerprint, created_at);
    ALTER TABLE deliveries ADD COLUMN requeued_at REAL;
    CREATE INDEX attempts_finished ON attempts (finished_at);
    """,
)

_OPEN = "('pending', 'retrying')"


class SqliteLedger(Ledger):
    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0):
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
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
        """A write transaction that takes the lock up front (no upgrade deadlocks)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        try:
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version):
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
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

    # --- writing notifications ---------------------------------------------
    def create_ticket(self, new: NewTicket, *, dedupe_since: float | None = None) -> tuple[TicketRecord, bool]:
        with self._write() as conn:
            first = None
            if new.idempotency_key is not None:
                first = conn.execute(
                    "SELECT ticket FROM tickets WHERE idempotency_key = ?", (new.idempotency_key,)
                ).fetchone()
            if first is None and dedupe_since is not None:
                first = conn.execute(
                    "SELECT ticket FROM tickets WHERE fingerprint = ? AND created_at >= ? ORDER BY created_at LIMIT 1",
                    (new.fingerprint, dedupe_since),
                ).fetchone()
            if first is not None:
                existing = self._ticket(conn, first["ticket"])
                assert existing is not None
                return existing, False
            conn.execute(
                f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})",
                new.row(),
            )
            conn.executemany(
                "INSERT INTO deliveries (ticket, channel, status, created_at, updated_at)"
                " VALUES (?, ?, 'pending', ?, ?)",
                [(new.ticket, channel, new.created_at, new.created_at) for channel in new.channels],
            )
            record = self._ticket(conn, new.ticket)
        assert record is not None
        return record, True

    def run_counts(self, run_id: str, since: float) -> tuple[int, int]:
        row = (
            self._conn()
            .execute(
                """SELECT
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.ticket = t.ticket)
                                  AND coalesce(t.event, '') != 'notice'),
                 count(*) FILTER (WHERE t.event = 'notice')
               FROM tickets t WHERE t.run_id = ? AND t.created_at >= ?""",
                (run_id, since),
            )
            .fetchone()
        )
        return int(row[0]), int(row[1])

    # --- reading -------------------------------------------------------------
    def _ticket(self, conn: sqlite3.Connection, ticket: str) -> TicketRecord | None:
        row = conn.execute("SELECT * FROM tickets WHERE ticket = ?", (ticket,)).fetchone()
        if row is None:
            return None
        deliveries = conn.execute("SELECT * FROM deliveries WHERE ticket = ? ORDER BY id", (ticket,)).fetchall()
        return ticket_from_rows(row, deliveries)

    def get_ticket(self, ticket: str) -> TicketRecord | None:
        return self._ticket(self._conn(), ticket)

    def run_tickets(self, run_id: str) -> list[TicketRecord]:
        conn = self._conn()
        rows = conn.execute("SELECT * FROM tickets WHERE run_id = ? ORDER BY created_at, rowid", (run_id,)).fetchall()
        if not rows:
            return []
        by_ticket: dict[str, list[sqlite3.Row]] = {row["ticket"]: [] for row in rows}
        deliveries = conn.execute(
            "SELECT d.* FROM deliveries d JOIN tickets t ON t.ticket = d.ticket WHERE t.run_id = ? ORDER BY d.id",
            (run_id,),
        ).fetchall()
        for d in deliveries:
            by_ticket[d["ticket"]].append(d)
        return [ticket_from_rows(row, by_ticket[row["ticket"]]) for row in rows]

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = self._conn().execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return None if row is None else delivery_from_row(row)

    def unfinished_count(self) -> int:
        row = (
            self._conn()
            .execute("SELECT count(*) FROM deliveries WHERE status NOT IN ('delivered', 'failed')")
            .fetchone()
        )
        return int(row[0])

    def attempts(self, ticket: str) -> list[Attempt]:
        rows = (
            self._conn()
            .execute(
                """SELECT a.delivery_id, d.channel, a.started_at, a.finished_at, a.outcome, a.error
               FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
               WHERE d.ticket = ? ORDER BY a.started_at, a.id""",
                (ticket,),
            )
            .fetchall()
        )
        return [Attempt(*row) for row in rows]

    def recent_run_ids(self, limit: int) -> list[str]:
        rows = (
            self._conn()
            .execute("SELECT run_id FROM tickets GROUP BY run_id ORDER BY max(created_at) DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [row[0] for row in rows]

    def outcome_counts(self, since: float, bucket: float) -> list[tuple[str, float, str, int]]:
        rows = (
            self._conn()
            .execute(
                """SELECT d.channel, CAST(a.finished_at / ? AS INTEGER) * ? AS slot, a.outcome, count(*)
               FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
               WHERE a.finished_at >= ? GROUP BY d.channel, slot, a.outcome ORDER BY slot, d.channel""",
                (bucket, bucket, since),
            )
            .fetchall()
        )
        return [(row[0], float(row[1]), row[2], int(row[3])) for row in rows]

    # --- the delivery life cycle ----------------------------------------------
    def mark_enqueued(self, delivery_ids: list[int], now: float) -> None:
        if not delivery_ids:
            return
        with self._write() as conn:
            conn.executemany("UPDATE deliveries SET enqueued_at = ? WHERE id = ?", [(now, i) for i in delivery_ids])

    def claim(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> Delivery | None:
        with self._write() as conn:
            row = conn.execute(
                f"""UPDATE deliveries
                    SET status = 'in_flight', lease_owner = ?, lease_until = ?, updated_at = ?
                    WHERE id = ? AND (
                        (status IN {_OPEN} AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                        OR (status = 'in_flight' AND lease_until < ?))
                    RETURNING *""",
                (owner, now + lease_seconds, now, delivery_id, now, now),
            ).fetchone()
        return None if row is None else delivery_from_row(row)

    def renew_lease(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'in_flight'",
                (now + lease_seconds, delivery_id, owner),
            )
        return cursor.rowcount == 1

    def record_attempt(
        self, delivery_id: int, owner: str, started_at: float, now: float, outcome: str, error: str | None
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO attempts (delivery_id, started_at, finished_at, outcome, error) VALUES (?, ?, ?, ?, ?)",
                (delivery_id, started_at, now, outcome, error),
            )
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = coalesce(?, last_error), updated_at = ?"
                " WHERE id = ?",
                (error, now, delivery_id),
            )

    def finish(self, delivery_id: int, owner: str, status: str, error: str | None, now: float) -> None:
        if status not in ("delivered", "failed"):
            raise ValueError(f"finish() takes delivered or failed, not {status!r}")
        with self._write() as conn:
            # A success is the truth even if our lease ran out meanwhile; a failure only counts
            # while we still hold the delivery (another worker may have taken it over).
            conn.execute(
                """UPDATE deliveries
                   SET status = ?, last_error = CASE WHEN ? = 'delivered' THEN last_error ELSE ? END,
                       updated_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? END,
                       lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL
                   WHERE id = ? AND (? = 'delivered' OR lease_owner = ?)""",
                (status, status, error, now, status, now, delivery_id, status, owner),
            )

    def defer(
        self, delivery_id: int, owner: str, next_attempt_at: float, error: str | None, now: float, *, retrying: bool
    ) -> None:
        with self._write() as conn:
            conn.execute(
                """UPDATE deliveries
                   SET status = ?, next_attempt_at = ?, enqueued_at = ?, last_error = coalesce(?, last_error),
                       updated_at = ?, lease_owner = NULL, lease_until = NULL
                   WHERE id = ? AND lease_owner = ? AND status = 'in_flight'""",
                (
                    "retrying" if retrying else "pending",
                    next_attempt_at,
                    next_attempt_at,
                    error,
                    now,
                    delivery_id,
                    owner,
                ),
            )

    def release_owner(self, owner: str, now: float) -> list[int]:
        with self._write() as conn:
            rows = conn.execute(
                """UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END,
                       lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL, enqueued_at = NULL,
                       updated_at = ?
                   WHERE lease_owner = ? AND status = 'in_flight' RETURNING id""",
                (now, owner),
            ).fetchall()
        return [row[0] for row in rows]

    def due_for_sweep(self, now: float, stale_after: float, *, unclaimed: bool = True) -> list[int]:
        rows = (
            self._conn()
            .execute(
                f"""SELECT id FROM deliveries
                WHERE (status = 'in_flight' AND lease_until < ?)
                   OR (? AND status IN {_OPEN} AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
                       AND coalesce(enqueued_at, created_at) < ?)
                ORDER BY id""",
                (now, unclaimed, now, now - stale_after),
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    # --- dead letters and retention ----------------------------------------------------
    def requeue_failed(
        self,
        now: float,
        *,
        ticket: str | None = None,
        channel: str | None = None,
        failed_since: float | None = None,
    ) -> list[int]:
        clauses, params = ["status = 'failed'"], [now, now]
        if ticket is not None:
            clauses.append("ticket = ?")
            params.append(ticket)
        if channel is not None:
            clauses.append("channel = ?")
            params.append(channel)
        if failed_since is not None:
            clauses.append("updated_at >= ?")
            params.append(failed_since)
        with self._write() as conn:
            rows = conn.execute(
                f"""UPDATE deliveries SET status = 'pending', requeued_at = ?, updated_at = ?,
                       next_attempt_at = NULL, enqueued_at = NULL, lease_owner = NULL, lease_until = NULL
                    WHERE {" AND ".join(clauses)} RETURNING id""",
                params,
            ).fetchall()
        return sorted(row[0] for row in rows)

    def purge(self, before: float) -> int:
        settled = """SELECT ticket FROM tickets t WHERE created_at < ? AND NOT EXISTS (
                        SELECT 1 FROM deliveries d WHERE d.ticket = t.ticket
                        AND d.status NOT IN ('delivered', 'failed'))"""
        with self._write() as conn:
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS doomed AS {settled} LIMIT 0", (before,))
            conn.execute("DELETE FROM doomed")
            conn.execute(f"INSERT INTO doomed {settled}", (before,))
            conn.execute(
                "DELETE FROM attempts WHERE delivery_id IN"
                " (SELECT id FROM deliveries WHERE ticket IN (SELECT ticket FROM doomed))"
            )
            conn.execute("DELETE FROM deliveries WHERE ticket IN (SELECT ticket FROM doomed)")
            count = conn.execute("DELETE FROM tickets WHERE ticket IN (SELECT ticket FROM doomed)").rowcount
            conn.execute("DELETE FROM rate_slots WHERE at < ?", (before,))
            conn.execute("DELETE FROM workers WHERE seen_at < ?", (before,))
        return count

    # --- shared state between workers ---------------------------------------------
    def reserve_rate(self, key: str, limit: int, per: float, now: float) -> float:
        with self._write() as conn:
            conn.execute("DELETE FROM rate_slots WHERE key = ? AND at <= ?", (key, now - per))
            count, oldest = conn.execute("SELECT count(*), min(at) FROM rate_slots WHERE key = ?", (key,)).fetchone()
            if count < limit:
                conn.execute("INSERT INTO rate_slots (key, at) VALUES (?, ?)", (key, now))
                return 0.0
        return max(0.001, oldest + per - now)

    def heartbeat(self, worker_id: str, now: float, info: str = "") -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workers (worker_id, seen_at, info) VALUES (?, ?, ?)"
                " ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at, info = excluded.info",
                (worker_id, now, info),
            )

    def live_workers(self, now: float, within: float) -> list[str]:
        rows = (
            self._conn()
            .execute("SELECT worker_id FROM workers WHERE seen_at >= ? ORDER BY worker_id", (now - within,))
            .fetchall()
        )
        return [row[0] for row in rows]

    def forget_worker(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))

    # For tests and tools: raw rows of a table (never used on the hot path).
    def dump_table(self, table: str) -> list[dict[str, Any]]:
        if table not in {"tickets", "deliveries", "attempts", "rate_slots", "workers"}:
            raise ValueError(table)
        return [dict(row) for row in self._conn().execute(f"SELECT * FROM {table}")]
