"""What every front end shows: the status vocabulary, the status documents and their text.

The MCP tools, the CLI and the dashboard all read the ledger through this module, so they
never disagree about what "partial_success" means. It imports neither pydantic nor the MCP
SDK: ``mcp-push status``, ``send`` and ``hook`` stay light; only the MCP server turns these
documents into the pydantic models of ``mcp_push.models`` (its tools' output schemas).

The words are fixed (the docs and every JSON use them):
delivery: pending | in_flight | retrying | delivered | failed, and the attention rules' held
(waiting for a release time) | folded (carried by a digest) | dropped (not needed any more);
ticket and run: recorded | queued | held | delivering | success | partial_success | error;
ask: waiting | answered | expired | cancelled.
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
    from mcp_push.storage.base import AskRecord, TicketRecord

# --- the status vocabulary (the storage SQL uses these too) -------------------------------

PENDING = "pending"
IN_FLIGHT = "in_flight"
RETRYING = "retrying"
DELIVERED = "delivered"
FAILED = "failed"
# The attention rules (mcp_push.attention): a held delivery waits for its release time
# (``next_attempt_at``) and is not claimable; when it is released it becomes pending, or it is
# settled folded (its text went out in a digest ticket, named in its note) or dropped (the
# person came back, the ask was answered first). Its ``hold`` says which rule held it.
HELD = "held"
FOLDED = "folded"
DROPPED = "dropped"
DELIVERY_STATUSES = (PENDING, IN_FLIGHT, RETRYING, DELIVERED, FAILED, HELD, FOLDED, DROPPED)
OPEN = (PENDING, RETRYING)  # waiting for a worker to claim them
SETTLED = (DELIVERED, FAILED, FOLDED, DROPPED)  # final: nothing more happens unless someone retries a dead letter
UNFINISHED = (PENDING, IN_FLIGHT, RETRYING, HELD)

# Which rule holds a delivery (deliveries.hold).
HOLD_QUIET = "quiet"  # MCP_PUSH_QUIET: until the window ends, then folded into the channel's digest
HOLD_DIGEST = "digest"  # MCP_PUSH_DIGEST_SECONDS: a run's start/update events folded per window
HOLD_STOP = "stop"  # MCP_PUSH_STOP_DELAY: dropped if the person comes back within the delay
HOLD_ESCALATE = "escalate"  # MCP_PUSH_ASK_ESCALATE: a later tier, sent only if the ask is still waiting
HOLDS = (HOLD_QUIET, HOLD_DIGEST, HOLD_STOP, HOLD_ESCALATE)

RECORDED = "recorded"  # nothing to push (policy), or no channel
QUEUED = "queued"
HELD_OVERALL = HELD  # every open delivery is held by an attention rule
DELIVERING = "delivering"
SUCCESS = "success"
PARTIAL_SUCCESS = "partial_success"
ERROR = "error"
OVERALL_STATUSES = (RECORDED, QUEUED, HELD_OVERALL, DELIVERING, SUCCESS, PARTIAL_SUCCESS, ERROR)
FINAL_OVERALL = (RECORDED, SUCCESS, PARTIAL_SUCCESS, ERROR)

# An ask (a question the person answers): waiting until the first answer, its deadline or a cancel.
ASK_WAITING = "waiting"
ASK_ANSWERED = "answered"
ASK_EXPIRED = "expired"
ASK_CANCELLED = "cancelled"
ASK_STATUSES = (ASK_WAITING, ASK_ANSWERED, ASK_EXPIRED, ASK_CANCELLED)
ASK_ENDED = (ASK_ANSWERED, ASK_EXPIRED, ASK_CANCELLED)

# Attempt outcomes (the attempts table): the last two are retried, a permanent one is not.
OUTCOME_DELIVERED = DELIVERED
OUTCOME_TRANSIENT = "transient"
OUTCOME_RATE_LIMITED = "rate_limited"
OUTCOME_PERMANENT = "permanent"


def rollup(statuses: Iterable[str]) -> str:
    """The overall status of a ticket or run from its deliveries' statuses."""
    seen = [s for s in statuses if s != DROPPED]  # a dropped delivery was not needed: it counts for nothing
    if not seen:
        return RECORDED
    if all(s == HELD for s in seen):
        return HELD_OVERALL
    if all(s in (PENDING, HELD) for s in seen):
        return QUEUED
    if not all(s in SETTLED for s in seen):
        return DELIVERING
    if all(s in (DELIVERED, FOLDED) for s in seen):  # a folded one's text went out in its digest
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
    hold: str | None = None  # the attention rule that held it: quiet | digest | stop | escalate
    held_until: str | None = None  # when a held delivery is released
    note: str | None = None  # what the rule did: "held for quiet hours until …", "folded into digest tk-…"


@dataclass
class AskView:
    """A question and where it stands; ``answer`` is the chosen label or the free text."""

    question: str
    choices: list[str]
    allow_text: bool
    status: str  # waiting | answered | expired | cancelled
    kind: str
    expires_at: str
    answer: str | None = None
    via: str | None = None  # the channel id, ``link`` or ``cli``
    by: str | None = None  # who answered (a Telegram user id, an address)
    answered_at: str | None = None
    ended_at: str | None = None


@dataclass
class TicketView:
    ticket: str
    event: str | None
    title: str
    created_at: str
    status: str
    reason: str | None = None  # why nothing was pushed, for recorded tickets
    route: str | None = None  # how its channels were chosen: "MCP_PUSH_ROUTE_ERROR", "channels argument", …
    deliveries: list[DeliveryView] = field(default_factory=list)
    ask: AskView | None = None  # for an ask ticket (event "ask")


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
    route: str | None = None  # how the channels were chosen (attention rules)
    held: list[str] = field(default_factory=list)  # "ntfy: held for quiet hours until 08:00 …"


@dataclass
class AskReceipt:
    """The answer to notify_ask: returned at once; notify_wait(ticket) waits for the person's answer."""

    ticket: str
    run_id: str
    status: str  # the ask's: waiting (or, for a repeated idempotency key, where that ask stands)
    channels: list[str]
    expires_at: str
    question: str
    choices: list[str]
    allow_text: bool = False
    duplicate: bool = False  # the idempotency key matched an earlier ask
    answer: str | None = None  # set when a repeated idempotency key finds the ask already answered


@dataclass
class WaitDocument:
    """What notify_wait / notify_cancel return: an ask's answer, or a notification's outcome per channel.

    ``done``: nothing more will change (answered, expired or cancelled; every delivery settled).
    ``status`` is the ask's status for an ask, else the ticket's overall delivery status.
    """

    ticket: str
    run_id: str
    kind: str  # ask | notification
    status: str
    done: bool
    waited_seconds: float
    answer: str | None = None
    ask: AskView | None = None
    deliveries: list[DeliveryView] = field(default_factory=list)
    hint: str | None = None


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
    # The attention rules in force (mcp_push.attention), one line each: routes first
    # ("MCP_PUSH_ROUTE_ERROR=telegram,smtp"), then quiet hours, digest, stop delay, min turn, escalation.
    rules: list[str] = field(default_factory=list)


def as_dict(document: Any) -> dict[str, Any]:
    """A document as JSON-ready data (what ``--json`` prints and the MCP tools return)."""
    return asdict(document)


def as_json(document: Any) -> str:
    """``--json`` output: indented, non-ASCII kept, control characters escaped by JSON itself."""
    return json.dumps(as_dict(document), indent=2, ensure_ascii=False)


# --- from ledger records --------------------------------------------------------------------


def ask_view(ask: AskRecord) -> AskView:
    return AskView(
        question=ask.question,
        choices=list(ask.choices),
        allow_text=ask.allow_text,
        status=ask.status,
        kind=ask.kind,
        expires_at=iso(ask.expires_at) or "",
        answer=ask.answer,
        via=ask.answered_via,
        by=ask.answered_by,
        answered_at=iso(ask.answered_at),
        ended_at=iso(ask.ended_at),
    )


def ticket_view(record: TicketRecord, ask: AskRecord | None = None) -> TicketView:
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
            hold=d.hold,
            held_until=iso(d.next_attempt_at) if d.status == HELD else None,
            note=d.note,
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
        route=record.route,
        deliveries=deliveries,
        ask=None if ask is None else ask_view(ask),
    )


def status_document(
    run_id: str, records: list[TicketRecord], asks: dict[str, AskRecord] | None = None
) -> StatusDocument:
    """The run's delivery rollup, plus its latest agent event: a run whose ``error`` event was
    delivered rolls up to ``success`` (of the deliveries), and the event says how the task went.
    ``asks`` (by ticket) puts each ask ticket's question and answer beside its deliveries."""
    asks = asks or {}
    tickets = [ticket_view(r, asks.get(r.ticket)) for r in records]
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
    if r.held and not r.duplicate:
        head += " Held: " + "; ".join(r.held) + "."
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
            + (f" via {t.route}" if t.route else "")
        )
        if t.ask is not None:
            lines.append(f"    ask: {ask_line(t.ask)}")
        for d in t.deliveries:
            tail = f" - {d.last_error}" if d.last_error and d.status != DELIVERED else ""
            note = f" [{d.note}]" if d.note else ""  # what an attention rule did: held until, folded into, dropped
            lines.append(f"    {d.channel}: {d.status}, {d.attempts} attempt(s){tail}{note}")
    if doc.workers_alive == 0 and not doc.final:
        lines.append("No worker is running: deliveries wait until `mcp-push worker` (or serve/send) starts one.")
    return "\n".join(lines)


def ask_line(ask: AskView) -> str:
    """Where an ask stands, in one line."""
    if ask.status == ASK_ANSWERED:
        who = f" by {printable(ask.by)}" if ask.by else ""
        return f"answered {printable(ask.answer or '')!r} via {ask.via}{who} at {ask.answered_at}"
    if ask.status == ASK_WAITING:
        options = " / ".join(printable(c) for c in ask.choices) + (" / free text" if ask.allow_text else "")
        return f"waiting for an answer ({options}) until {ask.expires_at}"
    return f"{ask.status} at {ask.ended_at}, unanswered"


def ask_receipt_text(r: AskReceipt) -> str:
    options = ", ".join(f"{i}. {printable(c)}" for i, c in enumerate(r.choices, 1))
    if r.allow_text:
        options += ", or a free-text answer"
    if r.duplicate:
        head = f"Already asked with this idempotency key: ticket {r.ticket} is {r.status}"
        head += f" (answer: {printable(r.answer)!r})." if r.answer is not None else "."
    else:
        where = ", ".join(r.channels) or "no channel"
        head = f"Asked on {where}: {printable(r.question)!r} ({options}); ticket {r.ticket}, expires {r.expires_at}."
    return f"{head} Call notify_wait(ticket='{r.ticket}') to wait for the answer (up to 100 s a call; call it again)."


def wait_text(doc: WaitDocument) -> str:
    if doc.kind == "ask" and doc.ask is not None:
        if doc.status == ASK_ANSWERED:
            head = f"Answered: {printable(doc.answer or '')!r} (via {doc.ask.via})."
        elif doc.status == ASK_WAITING:
            head = f"Still waiting for an answer after {doc.waited_seconds:g}s (until {doc.ask.expires_at})."
        else:
            head = f"The question was {doc.status} without an answer."
        lines = [f"{head} Ticket {doc.ticket}."]
    else:
        lines = [f"Ticket {doc.ticket}: {doc.status}" + ("" if doc.done else f" after {doc.waited_seconds:g}s")]
        for d in doc.deliveries:
            tail = f" - {d.last_error}" if d.last_error and d.status != DELIVERED else ""
            lines.append(f"    {d.channel}: {d.status}{tail}")
    if doc.hint:
        lines.append(doc.hint)
    return "\n".join(lines)


def channels_text(doc: ChannelsDocument) -> str:
    if not doc.channels:
        return doc.hint or "No channel is configured."
    lines = []
    for c in doc.channels:
        state = "enabled" if c.enabled else f"incomplete (missing {', '.join(c.missing)})"
        lines.append(f"- {c.id}: {state}")
    if doc.rules:
        lines.append("Rules:")
        lines.extend(f"- {rule}" for rule in doc.rules)
    else:
        lines.append("Rules: none (every notification to every enabled channel, at once)")
    lines.append(f"Workers alive: {doc.workers_alive}")
    if doc.config_file:
        lines.append(f"Config file: {doc.config_file}")
    return "\n".join(lines)
