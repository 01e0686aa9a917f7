"""The pipeline's front door, shared by the MCP tools, the CLI and the hooks.

validate -> apply policy -> write the ledger -> hand to a worker -> return a ticket. No
provider is contacted here, so the caller never waits on one; and nothing here imports the
queue, the consumer, httpx or pydantic, so a one-shot producer (``send``, ``hook``, ``ask``) starts fast.

Asks (``ask``) are tickets too, always pushed (no MCP_PUSH_EVENTS, skip list, budget or loop
guard: a person must see the question, and a repeat is what idempotency_key is for). ``wait``
polls the ledger until the answer is in (or, for a plain notification, every delivery is
settled) or the caller's deadline passes; the waiter never needs the worker that delivers.

Every notification also says how it is rendered (``format``, ``priority``, ``url``) and where it
came from (``source``): a caller's own source wins, else the one its front end worked out
(``origin``: the MCP server's directory and client, a hook's payload), else this process's
working directory (mcp_push.render.source).

Where and when it is pushed follows the attention rules (``mcp_push.attention``): a route per
kind, quiet hours, the progress digest, the stop delay, only long turns, escalation of asks.
``_attend`` asks ``attention.plan`` and the ticket carries the answer: its route, the deliveries
written ``held`` until their release time, or the reason it was recorded, not pushed.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from functools import cached_property
from typing import Any

from mcp_push import validation
from mcp_push.attention.plan import FINISHED, SEND, Plan, plan
from mcp_push.attention.rules import rules_for
from mcp_push.channels import enabled_ids
from mcp_push.config import ASK_EVENT
from mcp_push.errors import ConfigError, InputError
from mcp_push.render.priority import resolve as resolve_priority
from mcp_push.render.source import given_source, short_run_id, source_line
from mcp_push.storage import NewTicket, TicketRecord
from mcp_push.storage.base import AskRecord, NewAsk, live_worker_count
from mcp_push.tasks.runtime import Runtime
from mcp_push.views import (
    ASK_CANCELLED,
    ASK_EXPIRED,
    ASK_WAITING,
    FINAL_OVERALL,
    HELD,
    AskReceipt,
    ChannelsDocument,
    ChannelView,
    SendReceipt,
    StatusDocument,
    WaitDocument,
    ask_view,
    iso,
    status_document,
    ticket_view,
)

WAIT_POLL = 0.1  # seconds between looks at the ledger while waiting (a local SQLite read is ~0.1 ms)
PROGRESS_EVERY = 2.0  # seconds between progress reports while waiting
Progress = Callable[[float, float], None]  # (seconds waited, seconds to wait at most)

RUN_BUDGET_WINDOW = 3600.0

EVENT_TITLES = {
    "start": "▶️ Started",
    "update": "🔄 Progress",
    "end": "✅ Finished",
    "error": "❌ Failed",
}


def new_run_id() -> str:
    return f"run-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"


def new_ticket() -> str:
    # Time-ordered (milliseconds in hex) so tickets sort by creation, then random. os.urandom is what
    # secrets.token_hex reads, without importing secrets (and with it hmac and hashlib) into every hook.
    return f"tk-{int(time.time() * 1000):012x}{os.urandom(4).hex()}"


def ask_message(question: str, choices: tuple[str, ...], allow_text: bool) -> tuple[str, str]:
    """The title and body of an ask: the question (shortened in the title), then its choices listed."""
    line = " ".join(question.split())
    title = f"❓ {line if len(line) <= 80 else line[:79] + '…'}"
    lines = [question, ""]
    lines.extend(f"{i}. {choice}" for i, choice in enumerate(choices, 1))
    if allow_text:
        lines.append("(or answer in your own words)")
    return title, "\n".join(lines)


def event_message(
    run_id: str,
    event: str,
    message: str,
    data: dict[str, Any] | None,
    timestamp: str | None,
    headline: str | None = None,
):
    """The title and body a person reads for an agent event: the event's word, then the
    caller's headline (``send --event E TITLE``) or else the run id, shortened; the body
    ends with the full run id."""
    title = f"{EVENT_TITLES[event]} · {headline or short_run_id(run_id)}"
    lines = [message]
    if data:
        lines.append("")
        lines.extend(f"{key}: {value}" for key, value in data.items())
    if timestamp:
        lines.extend(["", f"at {timestamp}"])
    lines.extend(["", f"run: {run_id}"])
    return title, "\n".join(lines)


class Notifier:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.settings = runtime.settings

    @cached_property
    def process_source(self) -> str | None:
        """This process's source line (its working directory, this host): for callers that give none."""
        try:
            cwd: str | None = os.getcwd()
        except OSError:  # the directory was removed under us: the host still says where
            cwd = None
        return source_line(cwd=cwd, env=self.settings.env)

    def _rendering(
        self, fmt: Any, priority: Any, url: Any, source: Any, origin: str | None, data: Any
    ) -> dict[str, Any]:
        """Check the rendering arguments: an explicit ``source`` ('' for none) beats ``origin``, which
        beats this process's own line; ``url`` falls back to ``data.artifact_url`` / ``data.url``."""
        checked = validation.source(source)
        if checked is not None:
            line = given_source(checked, self.settings.env)
        elif origin is not None:
            line = given_source(origin, self.settings.env)
        else:
            line = self.process_source
        return {
            "format": validation.message_format(fmt),
            "priority": validation.priority(priority),
            "url": validation.url(url, data),
            "source": line,
        }

    # --- sending ------------------------------------------------------------------
    def _targets(self, requested: list[str] | None) -> list[str]:
        from mcp_push.channels import get_channel_class, known_channels_hint, missing_variables  # telegram:2 too

        enabled = enabled_ids(self.settings.env)
        if requested is None:
            if not enabled:
                raise InputError(
                    "no channel is configured. Set a channel's variables (for example NTFY_TOPIC, or "
                    f"TG_BOT_TOKEN and TG_USER_ID) in the environment or in {self._config_path()}; "
                    "`mcp-push channels` lists every channel and its variables"
                )
            return enabled
        for cid in requested:
            cls = get_channel_class(cid)
            if cls is None:
                raise InputError(f"unknown channel {cid!r}: {known_channels_hint()}")
            if cid not in enabled:
                missing = missing_variables(cls, self.settings.env)
                raise InputError(f"channel {cid!r} is not configured: set {', '.join(missing)}")
        return requested

    def _config_path(self) -> str:
        """The config file this process reads (or would read): where to put channel settings."""
        return str(self.settings.config_file or self.settings.home / "config.sh")

    def _attend(
        self,
        kind: str,
        priority: str | None,
        requested: list[str] | None,
        run_id: str,
        now: float,
        stop: str | None = None,
    ) -> Plan:
        """The attention rules' decision for a notification of ``kind`` (``send``: no event):
        channels, route, holds, or a reason to record it only. ``stop`` marks a hook's turn end
        (``finished``) or idle prompt (``idle``)."""
        enabled = self._targets(requested)  # checks the caller's ids; else every enabled channel
        rules = rules_for(self.settings)
        started = self.runtime.ledger.turn_started(run_id) if stop == FINISHED and rules.min_turn else None
        level = resolve_priority(priority, None if kind == SEND else kind, self.settings.env)
        return plan(
            rules,
            kind=kind,
            level=level,
            requested=requested,
            enabled=enabled,
            now=now,
            stop=stop,
            turn_started=started,
        )

    def send(
        self,
        title: Any,
        content: Any,
        *,
        run_id: Any = None,
        channels: Any = None,
        idempotency_key: Any = None,
        format: Any = None,
        priority: Any = None,
        url: Any = None,
        source: Any = None,
        origin: str | None = None,
        stop: str | None = None,
    ) -> SendReceipt:
        """A plain notification; ``format``/``priority``/``url``/``source`` say how it is rendered and
        ``origin`` is the source line the front end worked out (see ``_rendering``); ``stop``: a
        hook's idle prompt (``idle``), which MCP_PUSH_STOP_DELAY holds."""
        title = validation.required_text("title", title, validation.MAX_TITLE)
        content = validation.required_text("content", content, validation.MAX_CONTENT)
        rid = validation.run_id(run_id) if run_id is not None else new_run_id()
        rendering = self._rendering(format, priority, url, source, origin, None)
        now = time.time()
        decision = self._attend(SEND, rendering["priority"], validation.channel_ids(channels), rid, now, stop)
        key = validation.idempotency_key(idempotency_key)
        return self._write(
            NewTicket(
                new_ticket(),
                rid,
                title,
                content,
                now,
                decision.channels,
                None,
                None,
                decision.reason,
                key,
                route=decision.route,
                holds=decision.holds,
                **rendering,
            )
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
        format: Any = None,
        priority: Any = None,
        url: Any = None,
        source: Any = None,
        origin: str | None = None,
        stop: str | None = None,
    ) -> SendReceipt:
        """An agent event; ``title`` (the CLI's TITLE) replaces the run id in the headline. The
        link defaults to ``data.artifact_url`` / ``data.url``. ``stop``: a hook's turn end
        (``finished``: MCP_PUSH_STOP_DELAY and MCP_PUSH_MIN_TURN_SECONDS apply)."""
        rid = validation.run_id(run_id)
        name = validation.event(event)
        text = validation.required_text("message", message, validation.MAX_CONTENT)
        payload = validation.data(data)
        stamp = validation.timestamp(timestamp)
        rendering = self._rendering(format, priority, url, source, origin, payload)
        headline = validation.required_text("title", title, validation.MAX_TITLE) if title else None
        requested = validation.channel_ids(channels)
        key = validation.idempotency_key(idempotency_key)
        subject, content = event_message(rid, name, text, payload, stamp, headline)
        now = time.time()
        route, holds = None, {}  # recorded by MCP_PUSH_EVENTS: no route taken
        if name in self.settings.pushed_events:
            decision = self._attend(name, rendering["priority"], requested, rid, now, stop)
            targets, reason, route, holds = list(decision.channels), decision.reason, decision.route, decision.holds
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
            NewTicket(
                new_ticket(),
                rid,
                subject,
                content,
                now,
                tuple(targets),
                name,
                payload,
                reason,
                key,
                route=route,
                holds=holds,
                **rendering,
            )
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
            new = replace(new, channels=(), reason=reason, holds={})
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
            route=record.route,
            held=[f"{d.channel}: {d.note}" for d in record.deliveries if d.status == HELD and d.note],
        )

    def _enqueue(self, record: TicketRecord) -> None:
        """Hand the deliveries due now to a worker; a held one waits for its release (maintenance)."""
        due = [d.id for d in record.deliveries if d.status != HELD]
        if due:
            self.runtime.dispatch(due)

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
                source=new.source,
            )
        return replace(new, channels=(), reason=reason, holds={}), notice

    # --- asking ------------------------------------------------------------------
    def ask(
        self,
        question: Any,
        *,
        choices: Any = None,
        allow_text: Any = None,
        run_id: Any = None,
        channels: Any = None,
        timeout_seconds: Any = None,
        idempotency_key: Any = None,
        kind: str = "question",
        title: str | None = None,
        data: dict[str, Any] | None = None,
        format: Any = None,
        priority: Any = None,
        url: Any = None,
        source: Any = None,
        origin: str | None = None,
    ) -> AskReceipt:
        """Push a question; return at once with its ticket (``wait`` gets the answer).

        ``kind``, ``title`` and ``data`` are for the hooks (a permission request names its tool);
        ``format`` applies to the question (the listed choices stay as they are).
        """
        text = validation.question(question)
        labels = validation.choices(choices)
        free = validation.flag("allow_text", allow_text)
        rid = validation.run_id(run_id) if run_id is not None else new_run_id()
        timeout = validation.seconds(
            "timeout_seconds",
            timeout_seconds,
            default=validation.DEFAULT_ASK_TIMEOUT,
            minimum=validation.MIN_ASK_TIMEOUT,
            maximum=validation.MAX_ASK_TIMEOUT,
        )
        rendering = self._rendering(format, priority, url, source, origin, data)
        now = time.time()
        decision = self._attend(ASK_EVENT, rendering["priority"], validation.channel_ids(channels), rid, now)
        key = validation.idempotency_key(idempotency_key)
        subject, content = ask_message(text, labels, free)
        new = NewTicket(
            new_ticket(),
            rid,
            title or subject,
            content,
            now,
            decision.channels,
            ASK_EVENT,
            data,
            None,
            key,
            ask=NewAsk(text, labels, free, now + timeout, kind),
            route=decision.route,
            holds=decision.holds,
            **rendering,
        )
        ledger = self.runtime.ledger
        record, created = ledger.create_ticket(new)
        if created:
            self._enqueue(record)
        ask = ledger.get_ask(record.ticket)
        if ask is None:  # the idempotency key belongs to a notification that is not an ask
            raise InputError(
                f"idempotency_key {key!r} was already used by ticket {record.ticket}, which is not an ask: "
                "use another key for this question"
            )
        return AskReceipt(
            ticket=record.ticket,
            run_id=record.run_id,
            status=ask.status,
            channels=[d.channel for d in record.deliveries],
            expires_at=iso(ask.expires_at) or "",
            question=ask.question,
            choices=list(ask.choices),
            allow_text=ask.allow_text,
            duplicate=not created,
            answer=ask.answer,
        )

    def cancel(self, ticket: Any) -> WaitDocument:
        """End a waiting ask as ``cancelled`` (nothing happens to one already ended); return where it stands."""
        tk = validation.ticket(ticket)
        ledger = self.runtime.ledger
        if ledger.get_ask(tk) is None:
            self._existing(tk)
            raise InputError(f"ticket {tk[:80]!r} is not an ask: only a question from notify_ask can be cancelled")
        ledger.end_ask(tk, ASK_CANCELLED, time.time())
        return self._look(tk, 0.0)

    def wait(self, ticket: Any, seconds: Any = None, *, progress: Progress | None = None) -> WaitDocument:
        """Block until the ticket is done (see ``waiting``) or ``seconds`` pass."""
        steps = self.waiting(ticket, seconds, progress=progress)
        try:
            pause = next(steps)
            while True:
                time.sleep(pause)
                pause = next(steps)
        except StopIteration as stop:
            return stop.value

    def waiting(
        self, ticket: Any, seconds: Any = None, *, progress: Progress | None = None
    ) -> Generator[float, None, WaitDocument]:
        """The wait as steps: yields how long to sleep before the next look, returns the final document.

        The MCP tool drives it with ``asyncio.sleep`` (so the server keeps serving), the CLI with
        ``time.sleep``. An ask is done when answered, expired or cancelled (a waiting ask past its
        deadline is marked expired here: no listener needs to run for that); a notification when
        every delivery is settled. ``progress`` is called every few seconds.
        """
        tk = validation.ticket(ticket)
        limit = validation.seconds(
            "seconds", seconds, default=validation.DEFAULT_WAIT, minimum=0, maximum=validation.MAX_WAIT
        )
        self._existing(tk)
        start = time.monotonic()
        reported = 0.0
        while True:
            waited = time.monotonic() - start
            doc = self._look(tk, waited)
            left = limit - waited
            if doc.done or left <= 0:
                if not doc.done:
                    doc.hint = (
                        f"Not done yet: call notify_wait(ticket='{tk}') again to keep waiting."
                        if doc.kind == "ask"
                        else f"Deliveries are still running: call notify_wait(ticket='{tk}') again, or notify_status."
                    )
                return doc
            if progress is not None and waited - reported >= PROGRESS_EVERY:
                reported = waited
                progress(waited, limit)
            yield min(WAIT_POLL, left)

    def _existing(self, ticket: str) -> TicketRecord:
        record = self.runtime.ledger.get_ticket(ticket)
        if record is None:
            raise InputError(f"no ticket {ticket[:80]!r}: use the ticket that notify_ask or notify_send returned")
        return record

    def _look(self, ticket: str, waited: float) -> WaitDocument:
        """Where a ticket stands now, as notify_wait reports it."""
        ledger = self.runtime.ledger
        ask = ledger.get_ask(ticket)
        if ask is not None and ask.status == ASK_WAITING and time.time() >= ask.expires_at:
            ledger.end_ask(ticket, ASK_EXPIRED, time.time())
            ask = ledger.get_ask(ticket)
        record = self._existing(ticket)
        view = ticket_view(record)
        waited = round(waited, 1)
        if ask is None:
            done = view.status in FINAL_OVERALL
            return WaitDocument(
                ticket, record.run_id, "notification", view.status, done, waited, deliveries=view.deliveries
            )
        return WaitDocument(
            ticket,
            record.run_id,
            "ask",
            ask.status,
            ask.status != ASK_WAITING,
            waited,
            answer=ask.answer,
            ask=ask_view(ask),
            deliveries=view.deliveries,
        )

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
            doc = status_document(record.run_id, [record], self._asks([record]))
        else:
            rid = validation.run_id(run_id)
            records = ledger.run_tickets(rid)
            if not records:
                raise InputError(f"no notification has run_id {rid!r} yet")
            doc = status_document(rid, records, self._asks(records))
        doc.workers_alive = self.workers_alive()
        return doc

    def _asks(self, records: list[TicketRecord]) -> dict[str, AskRecord]:
        """The asks among these tickets, by ticket."""
        found = {}
        for record in records:
            if record.event == ASK_EVENT:
                ask = self.runtime.ledger.get_ask(record.ticket)
                if ask is not None:
                    found[record.ticket] = ask
        return found

    def workers_alive(self) -> int:
        return live_worker_count(self.runtime.ledger, time.time())

    def lookup(self, ref: str) -> StatusDocument:
        """A ticket or a run id, whichever it is (the CLI takes both)."""
        if self.runtime.ledger.get_ticket(ref) is not None:
            return self.status(ticket=ref)
        return self.status(run_id=ref)

    def channels(self) -> ChannelsDocument:
        from mcp_push.channels import channel_instances  # every account: telegram, telegram:2, …

        env = self.settings.env
        views = []
        for cls in channel_instances(env):
            enabled = cls.enabled(env)
            if not enabled and not cls.touched(env):
                continue
            limit = cls.rate_limit
            views.append(
                ChannelView(
                    id=cls.id,
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
            rules=self._rule_lines(),
        )

    def _rule_lines(self) -> list[str]:
        """The attention rules in force, one line each; a bad one is shown (this listing is where
        a person looks), though serve, worker, send and hook refuse to start with it."""
        try:
            return rules_for(self.settings).lines()
        except ConfigError as exc:
            return [f"not in force: {exc}"]
