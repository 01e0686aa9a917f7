"""The ledger in SQL, written once for SQLite and PostgreSQL.

Every statement here reads the same in both dialects: it is written with ``?`` placeholders
(a dialect converts them) and the status words of ``mcp_push.views``. A dialect supplies
only what truly differs: its connections and transactions, the column types of the
migrations, where the schema version lives, the column that orders tickets by insertion,
how a list of ids is bound, a lock for writers that race (a no-op where one file lock
already serializes every writer) and the time-bucket expression. No ORM: plain SQL, a
few hooks.
"""

from __future__ import annotations

import json
import logging
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from typing import Any, ClassVar, Protocol

from mcp_push.storage.base import (
    TICKET_COLUMNS,
    AskRecord,
    Attempt,
    Delivery,
    HeldDelivery,
    Ledger,
    NewTicket,
    TicketRecord,
    delivery_from_row,
    ticket_from_rows,
)
from mcp_push.views import (
    ASK_ANSWERED,
    ASK_CANCELLED,
    ASK_EXPIRED,
    ASK_WAITING,
    DELIVERED,
    DROPPED,
    FAILED,
    FOLDED,
    HELD,
    HOLD_ESCALATE,
    IN_FLIGHT,
    OPEN,
    PENDING,
    RETRYING,
    SETTLED,
)

log = logging.getLogger(__name__)


def literals(words: Sequence[str]) -> str:
    """``('a', 'b')`` for status words written into SQL (partial indexes need literals, not parameters)."""
    return "(" + ", ".join(f"'{w}'" for w in words) + ")"


_OPEN, _SETTLED = literals(OPEN), literals(SETTLED)

# Versioned migrations: entry N brings a database from schema version N to N+1. Column types
# are the dialect's (``{real}``, ``{id}``, ``{ref}``; ``{seq}`` is PostgreSQL's stand-in for rowid).
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE tickets (
        ticket TEXT PRIMARY KEY,{{seq}}
        run_id TEXT NOT NULL,
        event TEXT,
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        data TEXT,
        reason TEXT,
        idempotency_key TEXT UNIQUE,
        created_at {{real}} NOT NULL
    );
    CREATE INDEX tickets_run ON tickets (run_id, created_at);
    CREATE TABLE deliveries (
        id {{id}},
        ticket TEXT NOT NULL REFERENCES tickets (ticket),
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at {{real}} NOT NULL,
        updated_at {{real}} NOT NULL,
        delivered_at {{real}},
        next_attempt_at {{real}},
        lease_owner TEXT,
        lease_until {{real}},
        enqueued_at {{real}},
        UNIQUE (ticket, channel)
    );
    CREATE INDEX deliveries_open ON deliveries (status) WHERE status NOT IN {_SETTLED};
    CREATE TABLE attempts (
        id {{id}},
        delivery_id {{ref}} NOT NULL REFERENCES deliveries (id),
        started_at {{real}} NOT NULL,
        finished_at {{real}} NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT
    );
    CREATE INDEX attempts_delivery ON attempts (delivery_id);
    CREATE TABLE rate_slots (key TEXT NOT NULL, at {{real}} NOT NULL);
    CREATE INDEX rate_slots_key ON rate_slots (key, at);
    CREATE TABLE workers (worker_id TEXT PRIMARY KEY, seen_at {{real}} NOT NULL, info TEXT);
    """,
    """
    ALTER TABLE tickets ADD COLUMN fingerprint TEXT;
    CREATE INDEX tickets_fingerprint ON tickets (fingerprint, created_at);
    ALTER TABLE deliveries ADD COLUMN requeued_at {real};
    CREATE INDEX attempts_finished ON attempts (finished_at);
    """,
    """
    ALTER TABLE deliveries ADD COLUMN provider_id TEXT;
    CREATE TABLE delivery_targets (
        delivery_id {ref} NOT NULL REFERENCES deliveries (id),
        target TEXT NOT NULL,
        done_at {real} NOT NULL,
        PRIMARY KEY (delivery_id, target)
    );
    CREATE TABLE channel_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at {real} NOT NULL);
    """,
    f"""
    CREATE TABLE asks (
        ticket TEXT PRIMARY KEY REFERENCES tickets (ticket),
        kind TEXT NOT NULL,
        question TEXT NOT NULL,
        choices TEXT NOT NULL,
        allow_text INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at {{real}} NOT NULL,
        expires_at {{real}} NOT NULL,
        answer TEXT,
        choice INTEGER,
        answered_via TEXT,
        answered_by TEXT,
        answered_at {{real}},
        ended_at {{real}},
        closed_at {{real}}
    );
    CREATE INDEX asks_waiting ON asks (expires_at) WHERE status = '{ASK_WAITING}';
    CREATE INDEX asks_to_close ON asks (ended_at) WHERE status != '{ASK_WAITING}' AND closed_at IS NULL;
    CREATE INDEX deliveries_provider ON deliveries (channel, provider_id) WHERE provider_id IS NOT NULL;
    CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, held_until {{real}} NOT NULL);
    CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at {{real}} NOT NULL);
    """,
    # How a ticket is rendered (issue 13): kept with it so every attempt renders the same.
    """
    ALTER TABLE tickets ADD COLUMN format TEXT NOT NULL DEFAULT 'markdown';
    ALTER TABLE tickets ADD COLUMN priority TEXT;
    ALTER TABLE tickets ADD COLUMN url TEXT;
    ALTER TABLE tickets ADD COLUMN source TEXT;
    """,
    # The attention rules (issue 14): how a ticket's channels were chosen; which rule held a
    # delivery and what it did; when each run's latest turn began (UserPromptSubmit).
    f"""
    ALTER TABLE tickets ADD COLUMN route TEXT;
    ALTER TABLE deliveries ADD COLUMN hold TEXT;
    ALTER TABLE deliveries ADD COLUMN note TEXT;
    CREATE INDEX deliveries_held ON deliveries (next_attempt_at) WHERE status = '{HELD}';
    CREATE TABLE turns (run_id TEXT PRIMARY KEY, started_at {{real}} NOT NULL);
    """,
)

# Lock namespaces for writers that race on a dialect without one global write lock.
MIGRATE, RATE, DEDUPE = "mcp-push:migrate", "mcp-push:rate", "mcp-push:dedupe"

# Rows of a table as ``dump_table`` lists them (tests and tools; never on the hot path).
DUMP_ORDER = {
    "tickets": None,  # the dialect's insertion order
    "deliveries": "id",
    "attempts": "id",
    "rate_slots": "key, at",
    "workers": "worker_id",
    "delivery_targets": "delivery_id, target",
    "channel_cache": "key",
    "asks": "created_at, ticket",
    "leases": "name",
    "cursors": "name",
    "turns": "run_id",
}

_INSERT_ATTEMPT = "INSERT INTO attempts (delivery_id, started_at, finished_at, outcome, error) VALUES (?, ?, ?, ?, ?)"
_COUNT_ATTEMPT = (
    "UPDATE deliveries SET attempts = attempts + 1, last_error = coalesce(CAST(? AS TEXT), last_error),"
    " updated_at = ? WHERE id = ?"
)
_RELEASE = "lease_owner = NULL, lease_until = NULL"
_CLAIM = f"""UPDATE deliveries SET status = '{IN_FLIGHT}', lease_owner = ?, lease_until = ?, updated_at = ?
    WHERE id = ? AND (
        (status IN {_OPEN} AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
        OR (status = '{IN_FLIGHT}' AND lease_until < ?))
    RETURNING *"""
_TICKET_FIELDS = tuple(f.name for f in fields(TicketRecord) if f.name != "deliveries")
_TICKET_AS = ", ".join(f"t.{column} AS t_{column}" for column in _TICKET_FIELDS)


# Rows a purge removes once their time has passed, whatever tickets they served.
_EXPIRING = (
    ("rate_slots", "at"),
    ("workers", "seen_at"),
    ("channel_cache", "expires_at"),
    ("leases", "held_until"),
    ("turns", "started_at"),
)
_HELD_SELECT = (
    "SELECT d.*, t.run_id AS t_run_id, t.event AS t_event, t.title AS t_title, t.content AS t_content,"
    " t.created_at AS t_created_at, t.source AS t_source, t.priority AS t_priority, t.url AS t_url,"
    f" t.format AS t_format FROM deliveries d JOIN tickets t ON t.ticket = d.ticket WHERE d.status = '{HELD}'"
)
# What an ended ask's later escalation tiers say: they are never sent.
_TIER_DROPPED = "not sent: the ask was {status} before this escalation tier was due"


def _held_from_row(row: Any) -> HeldDelivery:
    return HeldDelivery(
        delivery=delivery_from_row(row),
        run_id=row["t_run_id"],
        event=row["t_event"],
        title=row["t_title"],
        content=row["t_content"],
        created_at=row["t_created_at"],
        source=row["t_source"],
        priority=row["t_priority"],
        url=row["t_url"],
        format=row["t_format"],
    )


_ASK_SELECT = "SELECT a.*, t.run_id FROM asks a JOIN tickets t ON t.ticket = a.ticket"


def _ask_from_row(row: Any) -> AskRecord:
    """An AskRecord from an asks row joined with its ticket's run_id (choices are stored as JSON)."""
    values = {f.name: row[f.name] for f in fields(AskRecord) if f.name not in ("choices", "allow_text")}
    return AskRecord(**values, choices=tuple(json.loads(row["choices"])), allow_text=bool(row["allow_text"]))


def _claim_params(delivery_id: int, owner: str, lease_seconds: float, now: float) -> tuple[Any, ...]:
    return (owner, float(now + lease_seconds), float(now), delivery_id, float(now), float(now))


class _Lost(Exception):
    """Raised inside a write transaction to roll it back: a conditional step found its rows taken."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the shared statements need of a connection: ``execute`` with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...


def _settle_sql(
    status: str, owner: str, error: str | None, now: float, next_attempt_at: float | None, provider_id: str | None
) -> tuple[str, tuple[Any, ...], str, tuple[Any, ...]]:
    """(SET clause, its params, extra WHERE condition, its params) that settle a claimed delivery.

    A success is the truth even if our lease ran out meanwhile; a failure or a deferral only
    counts while we still hold the delivery (another worker may have taken it over).
    """
    if status == DELIVERED:
        sets = f"status = '{DELIVERED}', delivered_at = ?, provider_id = ?, next_attempt_at = NULL"
        return sets, (now, provider_id), "", ()
    if status == FAILED:
        sets = f"status = '{FAILED}', delivered_at = NULL, last_error = ?, next_attempt_at = NULL"
        return sets, (error,), " AND lease_owner = ?", (owner,)
    if status in (PENDING, RETRYING) and next_attempt_at is not None:
        sets = "status = ?, next_attempt_at = ?, enqueued_at = ?, last_error = coalesce(CAST(? AS TEXT), last_error)"
        where = f" AND lease_owner = ? AND status = '{IN_FLIGHT}'"
        return sets, (status, next_attempt_at, next_attempt_at, error), where, (owner,)
    raise ValueError(f"a delivery settles as delivered, failed, pending or retrying (with a time), not {status!r}")


class SqlLedger(Ledger):
    """The shared statements; a dialect subclass supplies connections and the hooks below."""

    TYPES: ClassVar[dict[str, str]]  # column types for MIGRATIONS: real, id, ref, seq
    ORDER: ClassVar[str]  # the column that orders tickets by insertion (rowid, seq)
    BUCKET: ClassVar[str]  # the start of ``finished_at``'s time bucket of ``?`` seconds (two parameters)

    # --- dialect hooks ------------------------------------------------------------
    @abstractmethod
    def _read(self) -> AbstractContextManager[Connection]:
        """A connection for reads (and single statements where the dialect commits each one)."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[Connection]:
        """A connection inside one write transaction: committed on success, rolled back on error."""

    def _write_one(self) -> AbstractContextManager[Connection]:
        """A connection for one write statement (PostgreSQL: autocommit, one round trip)."""
        return self._write()

    def _lock(self, conn: Connection, namespace: str, subject: str) -> None:
        """Serialize writers of ``subject`` until the transaction ends (SQLite's write lock already does)."""

    @abstractmethod
    def _schema_version(self, conn: Connection) -> int: ...

    @abstractmethod
    def _set_schema_version(self, conn: Connection, version: int) -> None: ...

    @abstractmethod
    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        """A predicate "``column`` is one of ``values``" and the one parameter it binds."""

    def _settled(self, conn: Connection, tickets: list[str]) -> list[str]:
        """Of tickets found settled, those still settled now that the purge holds its locks."""
        return tickets

    def _record_and_update(self, attempt: tuple[Any, ...], update: str, params: tuple[Any, ...]) -> int:
        """Insert an attempt row and run ``update`` atomically; return the rows ``update`` changed."""
        with self._write() as conn:
            conn.execute(_INSERT_ATTEMPT, attempt)
            return conn.execute(update, params).rowcount

    # --- schema -----------------------------------------------------------------------
    def _upgrade(self, conn: Connection) -> None:
        """Apply the migrations this database lacks (the caller holds the migration lock)."""
        version = self._schema_version(conn)
        if version > len(MIGRATIONS):
            log.warning(
                "the ledger schema is at version %d, newer than this mcp-push knows (%d)", version, len(MIGRATIONS)
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version):
            for statement in script.format(**self.TYPES).split(";"):
                if statement.strip():
                    conn.execute(statement)  # DDL from this file only
            self._set_schema_version(conn, number + 1)

    # --- writing notifications --------------------------------------------------------
    def create_ticket(self, new: NewTicket, *, dedupe_since: float | None = None) -> tuple[TicketRecord, bool]:
        with self._write() as conn:
            if dedupe_since is not None:
                # Identical notifications written at the same moment by several processes: one at a time.
                self._lock(conn, DEDUPE, new.fingerprint)
            first = None
            if new.idempotency_key is not None:
                first = self._by_key(conn, new.idempotency_key)
            if first is None and dedupe_since is not None:
                first = conn.execute(
                    "SELECT ticket FROM tickets WHERE fingerprint = ? AND created_at >= ?"
                    f" ORDER BY created_at, {self.ORDER} LIMIT 1",
                    (new.fingerprint, float(dedupe_since)),
                ).fetchone()
            if first is None:
                inserted = self._insert_ticket(conn, new)
                if not inserted:  # another process took this idempotency key meanwhile
                    first = self._by_key(conn, new.idempotency_key)
            if first is not None:
                existing = self._ticket(conn, first["ticket"])
                assert existing is not None
                return existing, False
            record = self._ticket(conn, new.ticket)
        assert record is not None
        return record, True

    @staticmethod
    def _insert_ticket(conn: Connection, new: NewTicket) -> bool:
        """Insert the ticket, its deliveries (held ones with their release time) and its ask;
        False (nothing written) when its idempotency key is taken."""
        inserted = conn.execute(
            f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING ticket",
            new.row(),
        ).fetchone()
        if inserted is None:
            return False
        if new.channels:
            created = float(new.created_at)
            rows = []
            for channel in new.channels:
                hold = new.holds.get(channel)
                if hold is None:
                    rows.append((new.ticket, channel, PENDING, created, created, None, None, None))
                else:
                    rows.append((new.ticket, channel, HELD, created, created, float(hold.until), hold.kind, hold.note))
            conn.execute(
                "INSERT INTO deliveries (ticket, channel, status, created_at, updated_at, next_attempt_at, hold, note)"
                " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                [value for row in rows for value in row],
            )
        if new.ask is not None:
            ask = new.ask
            conn.execute(
                "INSERT INTO asks (ticket, kind, question, choices, allow_text, status, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.ticket,
                    ask.kind,
                    ask.question,
                    json.dumps(list(ask.choices), ensure_ascii=False),
                    int(ask.allow_text),
                    ASK_WAITING,
                    float(new.created_at),
                    float(ask.expires_at),
                ),
            )
        return True

    @staticmethod
    def _by_key(conn: Connection, key: str | None) -> Any:
        return conn.execute("SELECT ticket FROM tickets WHERE idempotency_key = ?", (key,)).fetchone()

    def run_counts(self, run_id: str, since: float) -> tuple[int, int]:
        with self._read() as conn:
            row = conn.execute(
                """SELECT
                     count(*) FILTER (WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.ticket = t.ticket)
                                      AND coalesce(t.event, '') != 'notice') AS pushed,
                     count(*) FILTER (WHERE t.event = 'notice') AS notices
                   FROM tickets t WHERE t.run_id = ? AND t.created_at >= ?""",
                (run_id, float(since)),
            ).fetchone()
        return int(row["pushed"]), int(row["notices"])

    # --- reading -------------------------------------------------------------------------
    @staticmethod
    def _ticket(conn: Connection, ticket: str) -> TicketRecord | None:
        row = conn.execute("SELECT * FROM tickets WHERE ticket = ?", (ticket,)).fetchone()
        if row is None:
            return None
        deliveries = conn.execute("SELECT * FROM deliveries WHERE ticket = ? ORDER BY id", (ticket,)).fetchall()
        return ticket_from_rows(row, deliveries)

    def get_ticket(self, ticket: str) -> TicketRecord | None:
        with self._read() as conn:
            return self._ticket(conn, ticket)

    def run_tickets(self, run_id: str) -> list[TicketRecord]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM tickets WHERE run_id = ? ORDER BY created_at, {self.ORDER}", (run_id,)
            ).fetchall()
            if not rows:
                return []
            deliveries = conn.execute(
                "SELECT d.* FROM deliveries d JOIN tickets t ON t.ticket = d.ticket WHERE t.run_id = ? ORDER BY d.id",
                (run_id,),
            ).fetchall()
        by_ticket: dict[str, list[Any]] = {row["ticket"]: [] for row in rows}
        for d in deliveries:
            by_ticket[d["ticket"]].append(d)
        return [ticket_from_rows(row, by_ticket[row["ticket"]]) for row in rows]

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return None if row is None else delivery_from_row(row)

    def unfinished_count(self) -> int:
        with self._read() as conn:
            row = conn.execute(f"SELECT count(*) AS n FROM deliveries WHERE status NOT IN {_SETTLED}").fetchone()
        return int(row["n"])

    def delivery_counts(self) -> list[tuple[str, str, int]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT channel, status, count(*) AS n FROM deliveries"
                " GROUP BY channel, status ORDER BY channel, status"
            ).fetchall()
        return [(row["channel"], row["status"], int(row["n"])) for row in rows]

    def oldest_unfinished(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT min(coalesce(requeued_at, created_at)) AS t FROM deliveries"
                f" WHERE status NOT IN {_SETTLED} AND status != '{HELD}'"  # a held one waits by design
            ).fetchone()
        return None if row is None or row["t"] is None else float(row["t"])

    def attempts(self, ticket: str) -> list[Attempt]:
        with self._read() as conn:
            rows = conn.execute(
                """SELECT a.delivery_id, d.channel, a.started_at, a.finished_at, a.outcome, a.error
                   FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                   WHERE d.ticket = ? ORDER BY a.started_at, a.id""",
                (ticket,),
            ).fetchall()
        return [
            Attempt(*(row[k] for k in ("delivery_id", "channel", "started_at", "finished_at", "outcome", "error")))
            for row in rows
        ]

    def recent_run_ids(self, limit: int) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT run_id FROM tickets GROUP BY run_id ORDER BY max(created_at) DESC LIMIT ?", (limit,)
            ).fetchall()
        return [row["run_id"] for row in rows]

    def outcome_counts(self, since: float, bucket: float) -> list[tuple[str, float, str, int]]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT d.channel, {self.BUCKET} AS slot, a.outcome, count(*) AS n
                    FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                    WHERE a.finished_at >= ? GROUP BY d.channel, slot, a.outcome ORDER BY slot, d.channel""",
                (float(bucket), float(bucket), float(since)),
            ).fetchall()
        return [(row["channel"], float(row["slot"]), row["outcome"], int(row["n"])) for row in rows]

    # --- the delivery life cycle ------------------------------------------------------------
    def mark_enqueued(self, delivery_ids: list[int], now: float) -> None:
        if not delivery_ids:
            return
        predicate, ids = self._in("id", delivery_ids)
        with self._write_one() as conn:
            conn.execute(f"UPDATE deliveries SET enqueued_at = ? WHERE {predicate}", (float(now), ids))

    def claim(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> Delivery | None:
        # One conditional UPDATE: of concurrent claimers exactly one matches the row.
        with self._write_one() as conn:
            rows = conn.execute(_CLAIM, _claim_params(delivery_id, owner, lease_seconds, now)).fetchall()
        return delivery_from_row(rows[0]) if rows else None

    def claim_with_ticket(
        self, delivery_id: int, owner: str, lease_seconds: float, now: float
    ) -> tuple[Delivery, TicketRecord] | None:
        row = self._claim_joined(_claim_params(delivery_id, owner, lease_seconds, now))
        if row is None:
            return None
        ticket = ticket_from_rows({column: row[f"t_{column}"] for column in _TICKET_FIELDS}, ())
        return delivery_from_row(row), ticket

    def _claim_joined(self, params: tuple[Any, ...]) -> Any:
        """The claimed delivery's row with its ticket's columns as ``t_<column>`` (None: not claimed).

        The ticket is read after the claim's statement has committed, on the same connection: its
        row never changes once its deliveries exist, no database lock is held for it, and that
        connection's page cache is still valid (a reader's cache is dropped after every write of
        another connection, so a read connection would fetch the pages again).
        """
        with self._write_one() as conn:
            claimed = conn.execute(_CLAIM, params).fetchall()
            if not claimed:
                return None
            ticket = conn.execute(f"SELECT {_TICKET_AS} FROM tickets t WHERE t.ticket = ?", (claimed[0]["ticket"],))
            return {**dict(claimed[0]), **dict(ticket.fetchone())}

    def renew_lease(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> bool:
        with self._write_one() as conn:
            cursor = conn.execute(
                f"UPDATE deliveries SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = '{IN_FLIGHT}'",
                (float(now + lease_seconds), delivery_id, owner),
            )
            return cursor.rowcount == 1

    def record_attempt(self, delivery_id: int, started_at: float, now: float, outcome: str, error: str | None) -> None:
        attempt = (delivery_id, float(started_at), float(now), outcome, error)
        self._record_and_update(attempt, _COUNT_ATTEMPT, (error, float(now), delivery_id))

    def settle(
        self,
        delivery_id: int,
        owner: str,
        started_at: float,
        now: float,
        outcome: str,
        error: str | None,
        *,
        status: str,
        next_attempt_at: float | None = None,
        provider_id: str | None = None,
        last_error: str | None = None,
    ) -> None:
        sets, params, where, where_params = _settle_sql(
            status, owner, last_error or error, float(now), next_attempt_at, provider_id
        )
        attempt = (delivery_id, float(started_at), float(now), outcome, error)
        update = f"UPDATE deliveries SET {sets}, attempts = attempts + 1, updated_at = ?, {_RELEASE} WHERE id = ?"
        if not self._record_and_update(attempt, update + where, (*params, float(now), delivery_id, *where_params)):
            # We lost the delivery to another worker: our attempt still counts, its outcome does not.
            with self._write_one() as conn:
                conn.execute(_COUNT_ATTEMPT, (error, float(now), delivery_id))

    def finish(self, delivery_id: int, owner: str, status: str, error: str | None, now: float) -> None:
        if status not in SETTLED:
            raise ValueError(f"finish() takes delivered or failed, not {status!r}")
        self._settle_only(delivery_id, _settle_sql(status, owner, error, float(now), None, None), now)

    def defer(
        self, delivery_id: int, owner: str, next_attempt_at: float, error: str | None, now: float, *, retrying: bool
    ) -> None:
        status = RETRYING if retrying else PENDING
        self._settle_only(delivery_id, _settle_sql(status, owner, error, float(now), float(next_attempt_at), None), now)

    def _settle_only(
        self, delivery_id: int, parts: tuple[str, tuple[Any, ...], str, tuple[Any, ...]], now: float
    ) -> None:
        sets, params, where, where_params = parts
        with self._write_one() as conn:
            conn.execute(
                f"UPDATE deliveries SET {sets}, updated_at = ?, {_RELEASE} WHERE id = ?{where}",
                (*params, float(now), delivery_id, *where_params),
            )

    def targets_done(self, delivery_id: int) -> set[str]:
        with self._read() as conn:
            rows = conn.execute("SELECT target FROM delivery_targets WHERE delivery_id = ?", (delivery_id,))
            return {row["target"] for row in rows}

    def mark_target_done(self, delivery_id: int, target: str, now: float) -> None:
        with self._write_one() as conn:
            conn.execute(
                "INSERT INTO delivery_targets (delivery_id, target, done_at) VALUES (?, ?, ?)"
                " ON CONFLICT (delivery_id, target) DO NOTHING",
                (delivery_id, target, float(now)),
            )

    def release_owner(self, owner: str, now: float) -> list[int]:
        with self._write_one() as conn:
            rows = conn.execute(
                f"""UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN '{RETRYING}' ELSE '{PENDING}' END,
                       {_RELEASE}, next_attempt_at = NULL, enqueued_at = NULL, updated_at = ?
                    WHERE lease_owner = ? AND status = '{IN_FLIGHT}' RETURNING id""",
                (float(now), owner),
            ).fetchall()
        return sorted(row["id"] for row in rows)

    def due_for_sweep(self, now: float, stale_after: float, *, unclaimed: bool = True) -> list[int]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT id FROM deliveries
                    WHERE (status = '{IN_FLIGHT}' AND lease_until < ?)
                       OR (? AND status IN {_OPEN} AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
                           AND coalesce(enqueued_at, created_at) < ?)
                    ORDER BY id""",
                (float(now), bool(unclaimed), float(now), float(now - stale_after)),
            ).fetchall()
        return [row["id"] for row in rows]

    # --- dead letters and retention ----------------------------------------------------------
    def requeue_failed(
        self,
        now: float,
        *,
        ticket: str | None = None,
        channel: str | None = None,
        failed_since: float | None = None,
    ) -> list[int]:
        clauses, params = [f"status = '{FAILED}'"], [float(now), float(now)]
        for clause, value in (("ticket = ?", ticket), ("channel = ?", channel), ("updated_at >= ?", failed_since)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        with self._write_one() as conn:
            rows = conn.execute(
                f"""UPDATE deliveries SET status = '{PENDING}', requeued_at = ?, updated_at = ?,
                       next_attempt_at = NULL, enqueued_at = NULL, {_RELEASE}
                    WHERE {" AND ".join(clauses)} RETURNING id""",
                params,
            ).fetchall()
        return sorted(row["id"] for row in rows)

    def purge(self, before: float) -> int:
        with self._write() as conn:
            candidates = [
                row["ticket"]
                for row in conn.execute(
                    f"""SELECT ticket FROM tickets t WHERE created_at < ? AND NOT EXISTS (
                           SELECT 1 FROM deliveries d WHERE d.ticket = t.ticket AND d.status NOT IN {_SETTLED})
                         AND NOT EXISTS (
                           SELECT 1 FROM asks a WHERE a.ticket = t.ticket AND a.status = '{ASK_WAITING}')""",
                    (float(before),),
                ).fetchall()
            ]
            count = 0
            doomed = self._settled(conn, candidates) if candidates else []
            if doomed:
                tickets, param = self._in("ticket", doomed)
                for table in ("attempts", "delivery_targets"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE delivery_id IN (SELECT id FROM deliveries WHERE {tickets})",
                        (param,),
                    )
                conn.execute(f"DELETE FROM deliveries WHERE {tickets}", (param,))
                conn.execute(f"DELETE FROM asks WHERE {tickets}", (param,))
                count = conn.execute(f"DELETE FROM tickets WHERE {tickets}", (param,)).rowcount
            for table, column in _EXPIRING:
                conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (float(before),))
        return count

    # --- shared state between workers ----------------------------------------------------------
    def reserve_rate(self, key: str, limit: int, per: float, now: float) -> float:
        with self._write() as conn:
            # Every worker on every host taking a slot of this key waits here for the others.
            self._lock(conn, RATE, key)
            conn.execute("DELETE FROM rate_slots WHERE key = ? AND at <= ?", (key, float(now - per)))
            row = conn.execute(
                "SELECT count(*) AS n, min(at) AS oldest FROM rate_slots WHERE key = ?", (key,)
            ).fetchone()
            if row["n"] < limit:
                conn.execute("INSERT INTO rate_slots (key, at) VALUES (?, ?)", (key, float(now)))
                return 0.0
        return max(0.001, row["oldest"] + per - now)

    def cache_get(self, key: str, now: float) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT value FROM channel_cache WHERE key = ? AND expires_at > ?", (key, float(now))
            ).fetchone()
        return None if row is None else row["value"]

    def cache_put(self, key: str, value: str, expires_at: float) -> None:
        with self._write_one() as conn:
            conn.execute(
                "INSERT INTO channel_cache (key, value, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                (key, value, float(expires_at)),
            )

    def heartbeat(self, worker_id: str, now: float, info: str = "") -> None:
        with self._write_one() as conn:
            conn.execute(
                "INSERT INTO workers (worker_id, seen_at, info) VALUES (?, ?, ?)"
                " ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at, info = excluded.info",
                (worker_id, float(now), info),
            )

    def live_workers(self, now: float, within: float) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT worker_id FROM workers WHERE seen_at >= ? ORDER BY worker_id", (float(now - within),)
            ).fetchall()
        return [row["worker_id"] for row in rows]

    def forget_worker(self, worker_id: str) -> None:
        with self._write_one() as conn:
            conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))

    # --- asks: the first answer wins -------------------------------------------------------------
    def get_ask(self, ticket: str) -> AskRecord | None:
        with self._read() as conn:
            row = conn.execute(f"{_ASK_SELECT} WHERE a.ticket = ?", (ticket,)).fetchone()
        return None if row is None else _ask_from_row(row)

    def answer_ask(self, ticket: str, *, answer: str, choice: int | None, via: str, by: str | None, now: float) -> bool:
        # One conditional UPDATE: of racing answerers (any process, any host) exactly one matches.
        with self._write() as conn:
            cursor = conn.execute(
                f"""UPDATE asks SET status = '{ASK_ANSWERED}', answer = ?, choice = ?, answered_via = ?,
                       answered_by = ?, answered_at = ?, ended_at = ?
                    WHERE ticket = ? AND status = '{ASK_WAITING}' AND expires_at > ?""",
                (answer, choice, via, by, float(now), float(now), ticket, float(now)),
            )
            won = cursor.rowcount == 1
            if won:
                self._drop_tiers(conn, [ticket], ASK_ANSWERED, now)
            return won

    def end_ask(self, ticket: str, status: str, now: float) -> bool:
        if status not in (ASK_CANCELLED, ASK_EXPIRED):
            raise ValueError(f"an ask ends as cancelled or expired, not {status!r}")
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE asks SET status = ?, ended_at = ? WHERE ticket = ? AND status = '{ASK_WAITING}'",
                (status, float(now), ticket),
            )
            ended = cursor.rowcount == 1
            if ended:
                self._drop_tiers(conn, [ticket], status, now)
            return ended

    def expire_asks(self, now: float) -> list[str]:
        with self._write() as conn:
            rows = conn.execute(
                f"""UPDATE asks SET status = '{ASK_EXPIRED}', ended_at = ?
                    WHERE status = '{ASK_WAITING}' AND expires_at <= ? RETURNING ticket""",
                (float(now), float(now)),
            ).fetchall()
            tickets = sorted(row["ticket"] for row in rows)
            if tickets:
                self._drop_tiers(conn, tickets, ASK_EXPIRED, now)
        return tickets

    def _drop_tiers(self, conn: Connection, tickets: list[str], status: str, now: float) -> None:
        """In the transaction that ended these asks: their later escalation tiers will never be sent."""
        which, param = self._in("ticket", tickets)
        self._settle_held(
            conn, f"{which} AND hold = '{HOLD_ESCALATE}'", param, DROPPED, _TIER_DROPPED.format(status=status), now
        )

    def waiting_asks(self, now: float) -> list[AskRecord]:
        with self._read() as conn:
            rows = conn.execute(
                f"{_ASK_SELECT} WHERE a.status = '{ASK_WAITING}' AND a.expires_at > ? ORDER BY a.created_at, a.ticket",
                (float(now),),
            ).fetchall()
        return [_ask_from_row(row) for row in rows]

    def asks_to_close(self) -> list[AskRecord]:
        with self._read() as conn:
            rows = conn.execute(
                f"{_ASK_SELECT} WHERE a.status != '{ASK_WAITING}' AND a.closed_at IS NULL ORDER BY a.ended_at, a.ticket"
            ).fetchall()
        return [_ask_from_row(row) for row in rows]

    def mark_ask_closed(self, ticket: str, now: float) -> None:
        with self._write_one() as conn:
            conn.execute(
                f"UPDATE asks SET closed_at = ? WHERE ticket = ? AND status != '{ASK_WAITING}' AND closed_at IS NULL",
                (float(now), ticket),
            )

    def delivery_by_provider_id(self, channel: str, provider_id: str) -> Delivery | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM deliveries WHERE channel = ? AND provider_id = ? ORDER BY id DESC LIMIT 1",
                (channel, provider_id),
            ).fetchone()
        return None if row is None else delivery_from_row(row)

    # --- leases and cursors -----------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        # One statement: the row is inserted, or taken over when it is ours or has run out.
        with self._write_one() as conn:
            row = conn.execute(
                """INSERT INTO leases (name, owner, held_until) VALUES (?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, held_until = excluded.held_until
                   WHERE leases.owner = excluded.owner OR leases.held_until <= ?
                   RETURNING owner""",
                (name, owner, float(now + seconds), float(now)),
            ).fetchone()
        return row is not None

    def release_lease(self, name: str, owner: str) -> None:
        with self._write_one() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    def cursor_get(self, name: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else row["value"]

    def cursor_put(self, name: str, value: str, now: float) -> None:
        with self._write_one() as conn:
            conn.execute(
                "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, float(now)),
            )

    # --- attention: held deliveries -------------------------------------------------------------
    def held(
        self, *, due_by: float | None = None, run_id: str | None = None, hold: str | None = None
    ) -> list[HeldDelivery]:
        sql, params = _HELD_SELECT, []
        for clause, value in (("d.next_attempt_at <= ?", due_by), ("t.run_id = ?", run_id), ("d.hold = ?", hold)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(float(value) if clause.startswith("d.next") else value)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY d.next_attempt_at, d.id", params).fetchall()
        return [_held_from_row(row) for row in rows]

    def next_release(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = '{HELD}'").fetchone()
        return None if row["at"] is None else float(row["at"])

    def _move_held(self, conn: Connection, ids: list[int], status: str, note: str, now: float) -> list[int]:
        if not ids:
            return []
        which, param = self._in("id", sorted(set(ids)))
        return self._settle_held(conn, which, param, status, note, now)

    @staticmethod
    def _settle_held(conn: Connection, which: str, param: Any, status: str, note: str, now: float) -> list[int]:
        """The held deliveries matching ``which`` leave their hold: -> ``status`` with ``note``, no release
        time; a row no longer held is not touched. Returns the ids that moved."""
        rows = conn.execute(
            f"UPDATE deliveries SET status = ?, note = ?, next_attempt_at = NULL, updated_at = ?"
            f" WHERE {which} AND status = '{HELD}' RETURNING id",
            (status, note, float(now), param),
        ).fetchall()
        return sorted(row["id"] for row in rows)

    def release_held(self, delivery_ids: list[int], note: str, now: float) -> list[int]:
        with self._write() as conn:
            return self._move_held(conn, delivery_ids, PENDING, note, now)

    def drop_held(self, delivery_ids: list[int], note: str, now: float) -> list[int]:
        with self._write() as conn:
            return self._move_held(conn, delivery_ids, DROPPED, note, now)

    def fold_held(self, delivery_ids: list[int], digest: NewTicket, note: str) -> TicketRecord | None:
        wanted = sorted(set(delivery_ids))
        try:
            with self._write() as conn:
                moved = self._move_held(conn, wanted, FOLDED, note, digest.created_at)
                if moved != wanted or not self._insert_ticket(conn, digest):
                    raise _Lost  # another worker folded or released one first: write nothing
                record = self._ticket(conn, digest.ticket)
        except _Lost:
            return None
        return record

    def record_turn(self, run_id: str, at: float) -> None:
        with self._write_one() as conn:
            conn.execute(
                "INSERT INTO turns (run_id, started_at) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE"
                " SET started_at = excluded.started_at WHERE turns.started_at < excluded.started_at",
                (run_id, float(at)),
            )

    def turn_started(self, run_id: str) -> float | None:
        with self._read() as conn:
            row = conn.execute("SELECT started_at FROM turns WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else float(row["started_at"])

    def dump_table(self, table: str) -> list[dict[str, Any]]:
        """Raw rows of a table, for tests and tools (never used on the hot path)."""
        if table not in DUMP_ORDER:
            raise ValueError(table)
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY {DUMP_ORDER[table] or self.ORDER}").fetchall()
        return [{k: v for k, v in dict(row).items() if k != "seq"} for row in rows]
