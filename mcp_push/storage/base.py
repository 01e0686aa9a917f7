"""The ledger interface: the durable truth about every notification and delivery.

Like Huey's BaseStorage, one small abstract class with plain implementations behind it
(SQLite now; PostgreSQL shares the contract tests). The queue is only transport: a
delivery row is committed before its task is enqueued, a worker claims the row before it
sends, and a sweep finds rows whose task was lost.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

TICKET_COLUMNS = (
    "ticket",
    "run_id",
    "event",
    "title",
    "content",
    "data",
    "reason",
    "idempotency_key",
    "fingerprint",
    "created_at",
    "format",
    "priority",
    "url",
    "source",
    "route",
)


@dataclass(frozen=True)
class NewAsk:
    """The question half of an ask ticket: what the person chooses from, and until when.

    ``kind`` says who waits for the answer: ``question`` (notify_ask, ``mcp-push ask``),
    ``permission`` (a PermissionRequest / BeforeTool hook) or ``ask_user_question``
    (Claude Code's AskUserQuestion tool, through PreToolUse).
    """

    question: str
    choices: tuple[str, ...]
    allow_text: bool
    expires_at: float
    kind: str = "question"


@dataclass(frozen=True)
class AskRecord:
    """An ask and where it stands: ``waiting`` -> ``answered`` | ``expired`` | ``cancelled``.

    The answer is written once (first answer wins): ``choice`` is the index into ``choices``
    (None for free text), ``answer`` the label or the text, ``answered_via`` the channel id or
    ``link``/``cli``, ``answered_by`` who (a Telegram user id, "ntfy", an address). ``closed_at``:
    when the messages that carried the ask were edited to show its end (None: not yet).
    """

    ticket: str
    run_id: str
    question: str
    choices: tuple[str, ...]
    allow_text: bool
    status: str
    kind: str
    created_at: float
    expires_at: float
    answer: str | None = None
    choice: int | None = None
    answered_via: str | None = None
    answered_by: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    closed_at: float | None = None


@dataclass(frozen=True)
class Hold:
    """An attention rule's hold on one new delivery: written ``held`` (not claimable) with
    ``until`` as its release time (``next_attempt_at``), ``kind`` one of ``views.HOLDS`` and
    ``note`` what a person reads in notify_status ("held for quiet hours until 08:00 …")."""

    kind: str
    until: float
    note: str


@dataclass(frozen=True)
class HeldDelivery:
    """A held delivery with what the release step needs of its ticket (``Ledger.held``)."""

    delivery: Delivery
    run_id: str
    event: str | None
    title: str
    content: str
    created_at: float
    source: str | None = None
    priority: str | None = None
    url: str | None = None
    format: str = "markdown"


@dataclass(frozen=True)
class NewTicket:
    """A notification to write, with the channels it goes to (none: recorded only).

    With ``ask`` set the ticket is an ask (event ``ask``): its asks row is written in the same
    transaction as the ticket and its deliveries. ``format``, ``priority``, ``url`` and ``source``
    are how the channels render it (``channels.base.Message``), kept so a retry renders the same.
    """

    ticket: str
    run_id: str
    title: str
    content: str
    created_at: float
    channels: tuple[str, ...] = ()
    event: str | None = None
    data: dict[str, Any] | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    ask: NewAsk | None = None
    format: str = "markdown"
    priority: str | None = None
    url: str | None = None
    source: str | None = None
    # The attention rules (mcp_push.attention): how ``channels`` were chosen, and the channels
    # whose delivery is written held instead of pending.
    route: str | None = None
    holds: Mapping[str, Hold] = field(default_factory=dict)

    def row(self) -> tuple[Any, ...]:
        """The values of TICKET_COLUMNS for this ticket, as every backend stores them."""
        data = None if self.data is None else json.dumps(self.data)
        return (
            self.ticket,
            self.run_id,
            self.event,
            self.title,
            self.content,
            data,
            self.reason,
            self.idempotency_key,
            self.fingerprint,
            float(self.created_at),
            self.format,
            self.priority,
            self.url,
            self.source,
            self.route,
        )

    @property
    def fingerprint(self) -> str:
        """What makes two notifications 'the same' for the loop guard."""
        raw = "\x1f".join((self.run_id, self.event or "", self.title, self.content))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """One (ticket, channel) pair and where its delivery stands."""

    id: int
    ticket: str
    channel: str
    status: str
    attempts: int
    created_at: float
    updated_at: float
    last_error: str | None = None
    delivered_at: float | None = None
    next_attempt_at: float | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    requeued_at: float | None = None
    provider_id: str | None = None  # the provider's id for the sent message (Telegram message id, ntfy id…)
    hold: str | None = None  # the attention rule that held it (views.HOLDS), kept after its release
    note: str | None = None  # what that rule did, for notify_status and the dashboard

    @property
    def age_base(self) -> float:
        """Where the maximum age counts from: creation, or the last manual retry of a dead letter."""
        return self.requeued_at or self.created_at


@dataclass(frozen=True)
class Attempt:
    """One try at a provider, for timelines."""

    delivery_id: int
    channel: str
    started_at: float
    finished_at: float
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class TicketRecord:
    ticket: str
    run_id: str
    title: str
    content: str
    created_at: float
    event: str | None = None
    data: dict[str, Any] | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    format: str = "markdown"
    priority: str | None = None
    url: str | None = None
    source: str | None = None
    route: str | None = None
    deliveries: tuple[Delivery, ...] = field(default=())


def delivery_from_row(row: Mapping[str, Any]) -> Delivery:
    """A Delivery from a database row with the deliveries table's columns (any backend)."""
    return Delivery(**{f.name: row[f.name] for f in fields(Delivery)})


def ticket_from_rows(row: Mapping[str, Any], deliveries: Iterable[Mapping[str, Any]]) -> TicketRecord:
    """A TicketRecord from a tickets row and its deliveries' rows (``data`` is stored as JSON text)."""
    values = {f.name: row[f.name] for f in fields(TicketRecord) if f.name not in ("data", "deliveries")}
    data = None if row["data"] is None else json.loads(row["data"])
    return TicketRecord(**values, data=data, deliveries=tuple(delivery_from_row(d) for d in deliveries))


class Ledger(ABC):
    """Durable record of tickets, deliveries, attempts, rate-limit slots and worker heartbeats."""

    # --- writing notifications ------------------------------------------
    @abstractmethod
    def create_ticket(self, new: NewTicket, *, dedupe_since: float | None = None) -> tuple[TicketRecord, bool]:
        """Write the ticket and one pending delivery per channel, atomically.

        With an idempotency key already used, or (``dedupe_since`` given) an identical
        notification (same fingerprint) created at or after ``dedupe_since``, nothing is
        written and that first ticket is returned with ``False``.
        """

    @abstractmethod
    def run_counts(self, run_id: str, since: float) -> tuple[int, int]:
        """(pushed tickets, budget notices) of a run created at or after ``since``."""

    # --- reading ----------------------------------------------------------
    @abstractmethod
    def get_ticket(self, ticket: str) -> TicketRecord | None: ...

    @abstractmethod
    def run_tickets(self, run_id: str) -> list[TicketRecord]:
        """Every ticket of a run, oldest first."""

    @abstractmethod
    def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    @abstractmethod
    def unfinished_count(self) -> int:
        """Deliveries not yet delivered or failed."""

    @abstractmethod
    def delivery_counts(self) -> list[tuple[str, str, int]]:
        """(channel, status, count) of every delivery in the ledger: what metrics report."""

    @abstractmethod
    def oldest_unfinished(self) -> float | None:
        """When the oldest delivery still to be sent was created (or requeued); None if none. One held by
        an attention rule is not counted: it waits by design (this is the age of a stuck backlog)."""

    @abstractmethod
    def attempts(self, ticket: str) -> list[Attempt]:
        """Every attempt of a ticket's deliveries, oldest first."""

    @abstractmethod
    def recent_run_ids(self, limit: int) -> list[str]:
        """Run ids with the most recent activity first."""

    @abstractmethod
    def outcome_counts(self, since: float, bucket: float) -> list[tuple[str, float, str, int]]:
        """(channel, bucket start, outcome, count) of attempts finished at or after ``since``."""

    # --- the delivery life cycle ------------------------------------------
    @abstractmethod
    def mark_enqueued(self, delivery_ids: list[int], now: float) -> None:
        """Note that a task for these deliveries reached the queue."""

    @abstractmethod
    def claim(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> Delivery | None:
        """Take a pending/retrying delivery that is due, or an in-flight one whose lease expired.

        Atomic: of concurrent claimers exactly one gets the row; the others get None.
        """

    def claim_with_ticket(
        self, delivery_id: int, owner: str, lease_seconds: float, now: float
    ) -> tuple[Delivery, TicketRecord] | None:
        """``claim``, and the delivery's ticket (without its deliveries) read with it: what a worker sends."""
        delivery = self.claim(delivery_id, owner, lease_seconds, now)
        ticket = None if delivery is None else self.get_ticket(delivery.ticket)
        return None if delivery is None or ticket is None else (delivery, ticket)

    @abstractmethod
    def renew_lease(self, delivery_id: int, owner: str, lease_seconds: float, now: float) -> bool: ...

    @abstractmethod
    def record_attempt(self, delivery_id: int, started_at: float, now: float, outcome: str, error: str | None) -> None:
        """Count one try at the provider, with its outcome and (redacted) error."""

    @abstractmethod
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
        """Record the last attempt of a task and its consequence at once (one transaction).

        ``status`` is ``delivered`` (with the provider's message id), ``failed``, or
        ``retrying``/``pending`` due at ``next_attempt_at``; ``last_error`` (default: the
        attempt's ``error``) is what the delivery shows. As with ``finish`` and ``defer``, a
        success always counts and anything else only while ``owner`` still holds the delivery;
        the attempt is counted either way.
        """

    @abstractmethod
    def finish(self, delivery_id: int, owner: str, status: str, error: str | None, now: float) -> None:
        """Settle a claimed delivery as ``delivered`` or ``failed`` without a new attempt (e.g. not configured)."""

    @abstractmethod
    def defer(
        self, delivery_id: int, owner: str, next_attempt_at: float, error: str | None, now: float, *, retrying: bool
    ) -> None:
        """Give a claimed delivery back until ``next_attempt_at``.

        ``retrying=True`` after failed attempts (status ``retrying``); ``False`` when our own
        rate limiter asked for a wait, which is not a failed attempt (status ``pending``).
        """

    # --- per-target progress (a delivery that fans out to several recipients) ----------
    @abstractmethod
    def targets_done(self, delivery_id: int) -> set[str]:
        """Targets of a delivery already served, so a retry (in any process) sends only to the rest."""

    @abstractmethod
    def mark_target_done(self, delivery_id: int, target: str, now: float) -> None:
        """Note that ``target`` got this delivery's message (idempotent)."""

    @abstractmethod
    def release_owner(self, owner: str, now: float) -> list[int]:
        """Hand back every in-flight delivery of a worker that is stopping; return their ids."""

    @abstractmethod
    def due_for_sweep(self, now: float, stale_after: float, *, unclaimed: bool = True) -> list[int]:
        """Deliveries whose task may be lost: in-flight ones whose lease expired (their task was
        consumed) and, with ``unclaimed``, due pending/retrying ones whose task should have run
        ``stale_after`` seconds ago (never enqueued, or lost with a queue)."""

    # --- dead letters and retention ------------------------------------------------
    @abstractmethod
    def requeue_failed(
        self,
        now: float,
        *,
        ticket: str | None = None,
        channel: str | None = None,
        failed_since: float | None = None,
    ) -> list[int]:
        """Put failed deliveries (filtered) back to pending; return their ids to enqueue."""

    @abstractmethod
    def purge(self, before: float) -> int:
        """Delete settled tickets created before ``before`` (with deliveries and attempts); return how many."""

    # --- shared state between workers ---------------------------------------
    @abstractmethod
    def reserve_rate(self, key: str, limit: int, per: float, now: float) -> float:
        """Take a slot of a rate limit shared by every worker; return 0, or seconds to wait."""

    @abstractmethod
    def cache_get(self, key: str, now: float) -> str | None:
        """A channel's cached credential (e.g. an access token) unless it expired by ``now``.

        Keys are hashed by the caller: a key never holds a secret.
        """

    @abstractmethod
    def cache_put(self, key: str, value: str, expires_at: float) -> None:
        """Store (or replace) a cached value shared by every process, valid until ``expires_at``."""

    @abstractmethod
    def heartbeat(self, worker_id: str, now: float, info: str = "") -> None: ...

    @abstractmethod
    def live_workers(self, now: float, within: float) -> list[str]: ...

    @abstractmethod
    def forget_worker(self, worker_id: str) -> None: ...

    # --- asks: a question a person answers from any channel; the first answer wins ----------
    @abstractmethod
    def get_ask(self, ticket: str) -> AskRecord | None: ...

    @abstractmethod
    def answer_ask(self, ticket: str, *, answer: str, choice: int | None, via: str, by: str | None, now: float) -> bool:
        """Write the answer if the ask is still ``waiting`` and not past ``expires_at`` (one
        conditional UPDATE, so of racing answerers in any process exactly one gets True)."""

    @abstractmethod
    def end_ask(self, ticket: str, status: str, now: float) -> bool:
        """``waiting`` -> ``cancelled`` or ``expired`` (conditional, like ``answer_ask``)."""

    @abstractmethod
    def expire_asks(self, now: float) -> list[str]:
        """Mark every waiting ask past its deadline ``expired``; return their tickets."""

    @abstractmethod
    def waiting_asks(self, now: float) -> list[AskRecord]:
        """Asks still waiting (deadline not passed), oldest first: what listeners poll for."""

    @abstractmethod
    def asks_to_close(self) -> list[AskRecord]:
        """Ended asks (answered, expired, cancelled) whose messages were not yet edited to say so."""

    @abstractmethod
    def mark_ask_closed(self, ticket: str, now: float) -> None: ...

    @abstractmethod
    def delivery_by_provider_id(self, channel: str, provider_id: str) -> Delivery | None:
        """The delivery whose sent message has this provider id (a Telegram reply names its message)."""

    # --- leases and cursors: one poller per bot or topic across every process and host -----
    @abstractmethod
    def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        """Take (or renew) the named lease: True if ``owner`` holds it until ``now + seconds``.
        Free, expired, or already ``owner``'s: taken; someone else's and current: False."""

    @abstractmethod
    def release_lease(self, name: str, owner: str) -> None: ...

    @abstractmethod
    def cursor_get(self, name: str) -> str | None:
        """A listener's persisted position (Telegram's update offset, ntfy's last message id)."""

    @abstractmethod
    def cursor_put(self, name: str, value: str, now: float) -> None: ...

    # --- attention: deliveries held by a rule, released, folded or dropped by any worker ------
    @abstractmethod
    def held(
        self, *, due_by: float | None = None, run_id: str | None = None, hold: str | None = None
    ) -> list[HeldDelivery]:
        """Held deliveries (filtered: release time at or before ``due_by``, of ``run_id``, held by
        ``hold``), in release-time then id order."""

    @abstractmethod
    def next_release(self) -> float | None:
        """The earliest release time of any held delivery (None: nothing is held)."""

    @abstractmethod
    def release_held(self, delivery_ids: list[int], note: str, now: float) -> list[int]:
        """held -> pending (due at once), each only if still held; ``note`` replaces the hold's.
        Returns the ids that moved (the caller dispatches them)."""

    @abstractmethod
    def drop_held(self, delivery_ids: list[int], note: str, now: float) -> list[int]:
        """held -> dropped (settled, not an attempt), each only if still held; returns the ids that moved."""

    @abstractmethod
    def fold_held(self, delivery_ids: list[int], digest: NewTicket, note: str) -> TicketRecord | None:
        """In one transaction: every one of ``delivery_ids`` held -> folded with ``note``, and the
        ``digest`` ticket written (with its pending deliveries). If any of them is no longer held
        (another worker folded or released it first) nothing is written and None is returned."""

    @abstractmethod
    def record_turn(self, run_id: str, at: float) -> None:
        """The person started a turn in this run (UserPromptSubmit; Codex's next turn)."""

    @abstractmethod
    def turn_started(self, run_id: str) -> float | None:
        """When the run's latest recorded turn started (None: no prompt was ever recorded)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


# --- liveness: what the workers table means --------------------------------------------
# A worker beats every HEARTBEAT_SECONDS; one silent for LIVE_WITHIN is taken for gone. Producers
# read this to decide whether to start a drainer, so it lives beside the table, not in the consumer.

HEARTBEAT_SECONDS = 5.0
LIVE_WITHIN = 3 * HEARTBEAT_SECONDS


def live_worker_count(ledger: Ledger, now: float, *, exclude: str | None = None) -> int:
    """Workers with a heartbeat within LIVE_WITHIN of ``now``, not counting ``exclude`` (a worker id)."""
    return sum(1 for worker in ledger.live_workers(now, LIVE_WITHIN) if worker != exclude)
