"""What every front end shows: the status vocabulary, the status documents and their text.

The MCP tools, the CLI and the dashboard all read the ledger through this module, so they
never disagree about what "partial_success" means. It imports neither pydantic nor the MCP
SDK: ``mcp-push status``, ``send`` and ``hook`` stay light; only the MCP server turns these
documents into the pydantic models of ``mcp_push.models`` (its tools' output schemas).

The words are fixed (the docs and every JSON use them):
delivery: pending | in_flight | retrying | delivered | failed;
ticket and run: recorded | queued | delivering | success | partial_success | error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mcp_push.config import EVENTS
from mcp_push.terminal import printable

if TYPE_CHECKING:
    from mcp_push.storage.base import TicketRecord

# --- the status vocabulary (the storage SQL uses these too) -------------------------------

PENDING = "pending"
IN_FLIGHT = "in_flight"
RETRYING = "retrying"
DELIVERED = "delivered"
FAILED = "failed"
DELIVERY_STATUSES = (PENDING, IN_FLIGHT, RETRYING, DELIVERED, FAILED)
OPEN = (PENDING, RETRYING)  # waiting for a worker to claim them
SETTLED = (DELIVERED, FAILED)  # final: nothing more happens unless someone retries a dead letter
UNFINISHED = (PENDING, IN_FLIGHT, RETRYING)

RECORDED = "recorded"  # nothing to push (policy), or no channel
QUEUED = "queued"
DELIVERING = "delivering"
SUCCESS = "success"
PARTIAL_SUCCESS = "partial_success"
ERROR = "error"
OVERALL_STATUSES = (RECORDED, QUEUED, DELIVERING, SUCCESS, PARTIAL_SUCCESS, ERROR)
FINAL_OVERALL = (RECORDED, SUCCESS, PARTIAL_SUCCESS, ERROR)

# Attempt outcomes (the attempts table): the last two are retried, a permanent one is not.
OUTCOME_DELIVERED = DELIVERED
OUTCOME_TRANSIENT = "transient"
OUTCOME_RATE_LIMITED = "rate_limited"
OUTCOME_PERMANENT = "permanent"


def rollup(statuses: Iterable[str]) -> str:
    """The overall status of a ticket or run from its deliveries' statuses."""
    seen = list(statuses)
    if not seen:
        return RECORDED
    if all(s == PENDING for s in seen):
        return QUEUED
    if not all(s in SETTLED for s in seen):
        return DELIVERING
    if all(s == DELIVERED for s in seen):
        return SUCCESS
    if all(s == FAILED for s in seen):
        return ERROR
    return PARTIAL_SUCCESS


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC timestamp (milliseconds)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the documents (plain data; ``mcp_push.models`` gives the MCP tools their pydantic twins) ---


@dataclass
class DeliveryView:
    channel: str
    status: str
    attempts: int
    last_error: str | None = None
    updated_at: str = ""
    delivered_at: str | None = None
    next_attempt_at: str | None = None  # when a retrying delivery is tried again
    provider_id: str | None = None  # the provider's id for the sent message (Telegram message id, ntfy id…)


@dataclass
class TicketView:
    ticket: str
    event: str | None
    title: str
    created_at: str
    status: str
    reason: str | None = None  # why nothing was pushed, for recorded tickets
    deliveries: list[DeliveryView] = field(default_factory=list)


@dataclass
class StatusDocument:
    """What reached whom, for one run (or the run of one ticket)."""

    run_id: str
    status: str  # how the deliveries went, not whether the task itself succeeded
    tickets: list[TicketView]
    workers_alive: int | None = None
    last_event: str | None = None  # the latest agent event of these tickets: how the task went
    last_event_at: str | None = None
    last_event_title: str | None = None

    @property
    def final(self) -> bool:
        return all(t.status in FINAL_OVERALL for t in self.tickets)


@dataclass
class SendReceipt:
    """The answer to a send or an event: returned before any provider is contacted."""

    ticket: str
    run_id: str
    status: str
    channels: list[str]
    reason: str | None = None
    duplicate: bool = False  # the idempotency key (or the loop guard) matched an earlier ticket


@dataclass
class ChannelView:
    id: str
    name: str
    enabled: bool
    settings: dict[str, str]  # the channel's variables that are set, secrets masked
    missing: list[str] = field(default_factory=list)
    rate_limit: str | None = None


@dataclass
class ChannelsDocument:
    enabled: list[str]
    channels: list[ChannelView]
    config_file: str | None = None
    hint: str | None = None
    workers_alive: int = 0


def as_dict(document: Any) -> dict[str, Any]:
    """A document as JSON-ready data (what ``--json`` prints and the MCP tools return)."""
    return asdict(document)


def as_json(document: Any) -> str:
    """``--json`` output: indented, non-ASCII kept, control characters escaped by JSON itself."""
    return json.dumps(as_dict(document), indent=2, ensure_ascii=False)


# --- from ledger records --------------------------------------------------------------------


def ticket_view(record: TicketRecord) -> TicketView:
    deliveries = [
        DeliveryView(
            channel=d.channel,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            updated_at=iso(d.updated_at) or "",
            delivered_at=iso(d.delivered_at),
            next_attempt_at=iso(d.next_attempt_at) if d.status in OPEN else None,
            provider_id=d.provider_id,
        )
        for d in record.deliveries
    ]
    return TicketView(
        ticket=record.ticket,
        event=record.event,
        title=record.title,
        created_at=iso(record.created_at) or "",
        status=rollup(d.status for d in deliveries),
        reason=record.reason,
        deliveries=deliveries,
    )


def status_document(run_id: str, records: list[TicketRecord]) -> StatusDocument:
    """The run's delivery rollup, plus its latest agent event: a run whose ``error`` event was
    delivered rolls up to ``success`` (of the deliveries), and the event says how the task went."""
    tickets = [ticket_view(r) for r in records]
    statuses = [d.status for t in tickets for d in t.deliveries]
    doc = StatusDocument(run_id=run_id, status=rollup(statuses), tickets=tickets)
    events = [r for r in records if r.event in EVENTS]  # not budget notices or plain sends
    if events:
        last = events[-1]  # the ledger lists a run's tickets oldest first
        doc.last_event, doc.last_event_at, doc.last_event_title = last.event, iso(last.created_at), last.title
    return doc


# --- as text, for a person (the MCP tools' text block and the CLI) ---------------------------


def receipt_text(r: SendReceipt) -> str:
    if r.duplicate:
        head = f"Already sent with this idempotency key: ticket {r.ticket} (run {r.run_id}) is {r.status}."
    elif r.channels:
        head = f"Queued ticket {r.ticket} for run {r.run_id} to {', '.join(r.channels)}."
    else:
        head = f"Recorded ticket {r.ticket} for run {r.run_id} (not pushed: {r.reason})."
    return f"{head} Delivery runs in the background; notify_status(ticket='{r.ticket}') shows the outcome."


def status_text(doc: StatusDocument) -> str:
    lines = [f"Run {doc.run_id}: {doc.status}"]
    if doc.last_event:  # the status is the deliveries'; the event is how the task went
        title = printable(doc.last_event_title or "")
        lines[0] += f" (deliveries); last event: {doc.last_event} {title!r} at {doc.last_event_at}"
    for t in doc.tickets:
        lines.append(
            f"- {t.ticket} [{t.event or 'send'}] {printable(t.title)!r}: {t.status}"
            + (f" ({t.reason})" if t.reason else "")
        )
        for d in t.deliveries:
            tail = f" - {d.last_error}" if d.last_error and d.status != DELIVERED else ""
            lines.append(f"    {d.channel}: {d.status}, {d.attempts} attempt(s){tail}")
    if doc.workers_alive == 0 and not doc.final:
        lines.append("No worker is running: deliveries wait until `mcp-push worker` (or serve/send) starts one.")
    return "\n".join(lines)


def channels_text(doc: ChannelsDocument) -> str:
    if not doc.channels:
        return doc.hint or "No channel is configured."
    lines = []
    for c in doc.channels:
        state = "enabled" if c.enabled else f"incomplete (missing {', '.join(c.missing)})"
        lines.append(f"- {c.id}: {state}")
    lines.append(f"Workers alive: {doc.workers_alive}")
    if doc.config_file:
        lines.append(f"Config file: {doc.config_file}")
    return "\n".join(lines)
