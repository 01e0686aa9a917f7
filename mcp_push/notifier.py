"""The pipeline's front door, shared by the MCP tools, the CLI and the hooks.

validate -> apply policy -> write the ledger -> hand to a worker -> return a ticket. No
provider is contacted here, so the caller never waits on one; and nothing here imports the
queue, the consumer, httpx or pydantic, so a one-shot producer (``send``, ``hook``) starts fast.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import replace
from typing import Any

from mcp_push import validation
from mcp_push.channels import all_channels, enabled_ids
from mcp_push.errors import InputError
from mcp_push.storage import NewTicket, TicketRecord
from mcp_push.storage.base import live_worker_count
from mcp_push.tasks.runtime import Runtime
from mcp_push.views import (
    ChannelsDocument,
    ChannelView,
    SendReceipt,
    StatusDocument,
    status_document,
    ticket_view,
)

RUN_BUDGET_WINDOW = 3600.0

EVENT_TITLES = {
    "start": "▶️ Started",
    "update": "🔄 Progress",
    "end": "✅ Finished",
    "error": "❌ Failed",
}


def new_run_id() -> str:
    return f"run-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def new_ticket() -> str:
    # Time-ordered (milliseconds in hex) so tickets sort by creation, then random.
    return f"tk-{int(time.time() * 1000):012x}{secrets.token_hex(4)}"


def event_message(
    run_id: str,
    event: str,
    message: str,
    data: dict[str, Any] | None,
    timestamp: str | None,
    headline: str | None = None,
):
    """The title and body a person reads for an agent event: the event's word, then the
    caller's headline (``send --event E TITLE``) or else the run id."""
    title = f"{EVENT_TITLES[event]} · {headline or run_id}"
    lines = [message]
    if data:
        lines.append("")
        lines.extend(f"{key}: {value}" for key, value in data.items())
    if timestamp:
        lines.extend(["", f"at {timestamp}"])
    return title, "\n".join(lines)


class Notifier:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.settings = runtime.settings

    # --- sending ------------------------------------------------------------------
    def _targets(self, requested: list[str] | None) -> list[str]:
        enabled = enabled_ids(self.settings.env)
        known = all_channels()
        if requested is None:
            if not enabled:
                raise InputError(
                    "no channel is configured. Set a channel's variables (for example NTFY_TOPIC, or "
                    f"TG_BOT_TOKEN and TG_USER_ID) in the environment or in {self._config_path()}; "
                    "`mcp-push channels` lists every channel and its variables"
                )
            return enabled
        for cid in requested:
            if cid not in known:
                raise InputError(f"unknown channel {cid!r}: known channels are {', '.join(known)}")
            if cid not in enabled:
                missing = known[cid].missing(self.settings.env) or [s.name for s in known[cid].settings[:1]]
                raise InputError(f"channel {cid!r} is not configured: set {', '.join(missing)}")
        return requested

    def _config_path(self) -> str:
        """The config file this process reads (or would read): where to put channel settings."""
        return str(self.settings.config_file or self.settings.home / "config.sh")

    def send(
        self,
        title: Any,
        content: Any,
        *,
        run_id: Any = None,
        channels: Any = None,
        idempotency_key: Any = None,
    ) -> SendReceipt:
        title = validation.required_text("title", title, validation.MAX_TITLE)
        content = validation.required_text("content", content, validation.MAX_CONTENT)
        rid = validation.run_id(run_id) if run_id is not None else new_run_id()
        targets = self._targets(validation.channel_ids(channels))
        key = validation.idempotency_key(idempotency_key)
        return self._write(
            NewTicket(new_ticket(), rid, title, content, time.time(), tuple(targets), None, None, None, key)
        )

    def event(
        self,
        run_id: Any,
        event: Any,
        message: Any,
        *,
        data: Any = None,
        timestamp: Any = None,
        channels: Any = None,
        idempotency_key: Any = None,
        title: Any = None,
    ) -> SendReceipt:
        """An agent event; ``title`` (the CLI's TITLE) replaces the run id in the headline."""
        rid = validation.run_id(run_id)
        name = validation.event(event)
        text = validation.required_text("message", message, validation.MAX_CONTENT)
        payload = validation.data(data)
        stamp = validation.timestamp(timestamp)
        headline = validation.required_text("title", title, validation.MAX_TITLE) if title else None
        requested = validation.channel_ids(channels)
        key = validation.idempotency_key(idempotency_key)
        subject, content = event_message(rid, name, text, payload, stamp, headline)
        if name in self.settings.pushed_events:
            targets, reason = self._targets(requested), None
        else:
            pushed = ",".join(sorted(self.settings.pushed_events)) or "(none)"
            targets = []
            reason = (
                f"'{name}' events are recorded, not pushed (MCP_PUSH_EVENTS={pushed}); "
                f"add {name} to MCP_PUSH_EVENTS to push them"
            )
            if requested is not None:
                self._targets(requested)  # still reject unknown channel ids
        return self._write(
            NewTicket(new_ticket(), rid, subject, content, time.time(), tuple(targets), name, payload, reason, key)
        )

    def _skipped(self, title: str) -> str | None:
        """SKIP_PUSH_TITLE (newline-separated titles): such notifications are recorded, not pushed."""
        skip = {line.strip() for line in self.settings.env.get("SKIP_PUSH_TITLE", "").splitlines() if line.strip()}
        if title.strip() in skip:
            return "the title is listed in SKIP_PUSH_TITLE; remove it there to push such notifications"
        return None

    def _write(self, new: NewTicket) -> SendReceipt:
        """Apply the push policies (skip list, run budget, loop guard), then write and enqueue."""
        reason = self._skipped(new.title) if new.channels else None
        if reason:
            new = replace(new, channels=(), reason=reason)
        notice = None
        if new.channels:
            new, notice = self._apply_budget(new)
        ledger = self.runtime.ledger
        dedupe_since = new.created_at - self.settings.dedupe_seconds if self.settings.dedupe_seconds > 0 else None
        record, created = ledger.create_ticket(new, dedupe_since=dedupe_since)
        if created:
            self._enqueue(record)
            if notice is not None:
                self._enqueue(ledger.create_ticket(notice)[0])
        view = ticket_view(record)
        reason = record.reason
        if not created:
            if new.idempotency_key is not None and record.idempotency_key == new.idempotency_key:
                reason = f"same idempotency_key as ticket {record.ticket}; nothing new was sent"
            else:
                age = max(0.0, new.created_at - record.created_at)
                reason = (
                    f"identical to ticket {record.ticket} from {age:.0f}s ago; coalesced into it "
                    f"(loop guard, MCP_PUSH_DEDUPE_SECONDS={self.settings.dedupe_seconds:g})"
                )
        return SendReceipt(
            ticket=record.ticket,
            run_id=record.run_id,
            status=view.status,
            channels=[d.channel for d in record.deliveries],
            reason=reason,
            duplicate=not created,
        )

    def _enqueue(self, record: TicketRecord) -> None:
        self.runtime.dispatch([d.id for d in record.deliveries])

    def _apply_budget(self, new: NewTicket) -> tuple[NewTicket, NewTicket | None]:
        """MCP_PUSH_RUN_BUDGET: past it, a run's notifications are recorded, with one notice pushed."""
        budget = self.settings.run_budget
        pushed, notices = self.runtime.ledger.run_counts(new.run_id, new.created_at - RUN_BUDGET_WINDOW)
        if pushed < budget:
            return new, None
        reason = (
            f"run {new.run_id} already pushed {pushed} notifications in the last hour "
            f"(MCP_PUSH_RUN_BUDGET={budget}); recorded, not pushed"
        )
        notice = None
        if notices == 0:
            notice = NewTicket(
                new_ticket(),
                new.run_id,
                f"⚠️ mcp-push: run {new.run_id} hit its notification budget",
                f"This run pushed {pushed} notifications within an hour, more than MCP_PUSH_RUN_BUDGET={budget}. "
                "Its further notifications are recorded but not pushed until the hour has passed; "
                f"see them with notify_status(run_id='{new.run_id}') or `mcp-push status {new.run_id}`.",
                new.created_at,
                new.channels,
                event="notice",
            )
        return replace(new, channels=(), reason=reason), notice

    # --- reading ------------------------------------------------------------------
    def status(self, run_id: Any = None, ticket: Any = None) -> StatusDocument:
        if (run_id is None) == (ticket is None):
            raise InputError("give exactly one of run_id or ticket")
        ledger = self.runtime.ledger
        if ticket is not None:
            ticket = validation.ticket(ticket)
            record = ledger.get_ticket(ticket)
            if record is None:
                raise InputError(f"no ticket {ticket[:80]!r}: use the ticket that notify_send returned")
            doc = status_document(record.run_id, [record])
        else:
            rid = validation.run_id(run_id)
            records = ledger.run_tickets(rid)
            if not records:
                raise InputError(f"no notification has run_id {rid!r} yet")
            doc = status_document(rid, records)
        doc.workers_alive = self.workers_alive()
        return doc

    def workers_alive(self) -> int:
        return live_worker_count(self.runtime.ledger, time.time())

    def lookup(self, ref: str) -> StatusDocument:
        """A ticket or a run id, whichever it is (the CLI takes both)."""
        if self.runtime.ledger.get_ticket(ref) is not None:
            return self.status(ticket=ref)
        return self.status(run_id=ref)

    def channels(self) -> ChannelsDocument:
        env = self.settings.env
        views = []
        for cid, cls in all_channels().items():
            enabled = cls.enabled(env)
            if not enabled and not cls.touched(env):
                continue
            limit = cls.rate_limit
            views.append(
                ChannelView(
                    id=cid,
                    name=cls.name,
                    enabled=enabled,
                    settings=cls.masked_settings(env),
                    missing=cls.missing(env),
                    rate_limit=f"{limit.count} per {limit.per:g}s" if limit else None,
                )
            )
        enabled_list = [v.id for v in views if v.enabled]
        hint = None
        if not enabled_list:
            hint = (
                "no channel is configured: set a channel's variables in the environment or in "
                f"{self.settings.home / 'config.sh'} (see config.sh.example)"
            )
        return ChannelsDocument(
            enabled=enabled_list,
            channels=views,
            config_file=str(self.settings.config_file) if self.settings.config_file else None,
            hint=hint,
            workers_alive=self.workers_alive(),
        )
