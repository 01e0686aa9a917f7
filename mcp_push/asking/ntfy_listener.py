"""Answers from ntfy: what the action buttons posted to the reply topic, read by polling its cache.

``GET /<reply topic>/json?poll=1&since=<last id>`` with the channel's auth while asks wait: once
a second just after an ask was made, then every few seconds (ntfy's request limit, see below).
A message's body is a signed token, optionally followed by a written answer (``<token> <text>``,
for a token that takes text). Anyone may publish to a topic: the token is the proof, so anything
else there is logged and skipped. The last id is committed per message, after its answer was
written (a message read again after a crash is a replay). The first poll with no cursor starts
just before the oldest waiting ask was created.
"""

from __future__ import annotations

import logging
from functools import cached_property

from mcp_push.asking.answers import apply_token
from mcp_push.asking.listeners import Context, log_answer, status_line
from mcp_push.channels.base import short_hash
from mcp_push.channels.errors import RateLimitedError
from mcp_push.channels.ntfy import Ntfy
from mcp_push.storage.base import AskRecord, TicketRecord

log = logging.getLogger(__name__)

# ntfy (ntfy.sh and a default self-hosted server alike) allows a visitor a burst of 60 requests, refilled one
# every 5 s. Polls come every POLL_SECONDS in the FAST_SECONDS after an ask was made (when a quick answer is
# likeliest), then every SLOW_POLL_SECONDS, which leaves room in the refill for publishing.
POLL_SECONDS = 1.0
FAST_SECONDS = 30.0
SLOW_POLL_SECONDS = 6.0
RATE_LIMITED_SECONDS = 10.0


class NtfyListener:
    """One reply topic's poll loop (run by ``listeners.run_source`` while its lease is held)."""

    kind = "ntfy"

    def __init__(self, ctx: Context, channel: Ntfy):
        self.ctx = ctx
        self.channel = channel
        self.name = channel.id  # ntfy:2 reads the reply topic of NTFY_URL_2 and NTFY_TOPIC_2
        self._start = ""  # where to read from while no message was ever read (no cursor yet)

    @cached_property
    def lease(self) -> str:
        """Named after server and reply topic (derived from the answer key: made when first needed)."""
        return f"{self.kind}:{short_hash(f'{self.channel.base}/{self.channel.reply_topic()}')}"

    @property
    def cursor(self) -> str:
        return f"{self.lease}:last-id"

    def round(self, waiting: list[AskRecord]) -> None:
        since = self.ctx.ledger.cursor_get(self.cursor)
        if not since and waiting:
            self._start = str(max(0, int(min(ask.created_at for ask in waiting)) - 5))
        since = since or self._start
        if not since:  # lingering after the last ask, and nothing ever read: nothing to read
            self.ctx.stopped.wait(POLL_SECONDS)
            return
        try:
            messages = self.channel.poll(since)
        except RateLimitedError as exc:
            wait = max(RATE_LIMITED_SECONDS, exc.retry_after or 0.0)
            log.warning("ntfy: polling the reply topic is rate-limited; waiting %.0fs", wait)
            self.ctx.stopped.wait(wait)
            return
        for message in messages:
            self.handle(message)
            self.ctx.ledger.cursor_put(self.cursor, str(message["id"]), self.ctx.clock())
        newest = max((ask.created_at for ask in waiting), default=0.0)
        if self.ctx.clock() - newest < FAST_SECONDS:
            self.ctx.stopped.wait(POLL_SECONDS)
            return
        # Slow pace spares ntfy's request budget, not the ledger: a new ask ends the wait at once.
        deadline = self.ctx.clock() + SLOW_POLL_SECONDS
        while self.ctx.clock() < deadline and not self.ctx.stopped.wait(POLL_SECONDS):
            if any(ask.created_at > newest for ask in self.ctx.ledger.waiting_asks(self.ctx.clock())):
                return

    def handle(self, message: dict) -> None:  # type: ignore[type-arg]
        token, _, text = str(message.get("message") or "").strip().partition(" ")
        if not token:
            return
        result = apply_token(
            self.ctx.ledger,
            self.ctx.key,
            token,
            via=self.name,
            by=self.name,
            now=self.ctx.clock(),
            text=text.strip() or None,
        )
        log_answer(log, result, "ntfy", "skipped a reply-topic message that is no answer")


class NtfyCloser:
    """Updates an ask's ntfy notification (same sequence id) to say how it ended, without buttons."""

    def __init__(self, channel: Ntfy):
        self.channel = channel

    def close(self, ask: AskRecord, ticket: TicketRecord, provider_id: str) -> None:
        request = self.channel.close_request(provider_id, ticket.title, f"{ticket.content}\n\n{status_line(ask)}")
        self.channel.interpret(self.channel.perform(request))
