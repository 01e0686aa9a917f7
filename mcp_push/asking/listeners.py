"""The answer side of a worker: read answers from the two-way channels while asks wait, end asks
past their deadline, and edit the messages of asks that ended.

Every Worker (serve's embedded one, ``mcp-push worker``, the drainer) starts ``Listeners``. A
source (Telegram's getUpdates, the ntfy reply topic) polls only while ``waiting_asks`` is non-empty
(and LINGER_SECONDS after, so a late press hears "already answered") and only under a ledger
lease named after its bot or topic, renewed every round, so across all
processes and hosts exactly one poller reads each (Telegram answers a second one with 409). Its
position (Telegram's offset, ntfy's last message id) is a ledger cursor written only after the
answer it read was written: a listener killed in between reads the same update again, and the
ledger's first-answer-wins update turns that replay into "already answered".

Threads: one per configured source, and one housekeeping thread that reads the waiting asks
every IDLE_SECONDS for all of them (the only ledger reads of an idle worker), expires asks and
closes ended ones (under the ``asks:closer`` lease). A drain worker stays while ``asks_open``.
This module imports no HTTP client: producers import it for ``asks_open``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mcp_push.asking.answers import ACCEPTED, INVALID, AnswerResult
from mcp_push.errors import ConfigError
from mcp_push.storage.base import AskRecord, Ledger, TicketRecord
from mcp_push.views import SETTLED

if TYPE_CHECKING:
    from mcp_push.asking.tokens import AnswerKey
    from mcp_push.channels.base import Channel, HttpClients
    from mcp_push.config import Settings

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0  # a poller that dies is replaced after at most this long (renewed every round)
IDLE_SECONDS = 0.5  # how often an idle source looks for waiting asks, and the closer for ended ones
BUSY_SECONDS = 2.0  # how long a source waits while another process holds its lease
LINGER_SECONDS = 20.0  # a source reads on this long after the last ask ended: a late press is told "already answered"
CLOSE_GIVE_UP = 600.0  # an ended ask whose messages still cannot be edited after this long is marked closed
SETTLE_WAIT = 60.0  # how long closing waits for the ask's deliveries still in flight
CLOSER_LEASE = "asks:closer"
EXPIRY_CHECK = 30.0  # expire_asks at least this often, whatever the asks seen say


def asks_open(ledger: Ledger, now: float) -> bool:
    """Asks still waiting, or ended with messages not yet closed: a drain worker stays for them."""
    return bool(ledger.waiting_asks(now)) or bool(ledger.asks_to_close())


def status_line(ask: AskRecord) -> str:
    """How an ended ask reads in its edited message."""
    if ask.status == "answered":
        via = f" (via {ask.answered_via})" if ask.answered_via else ""
        return f"✅ Answered: {ask.answer}{via}"
    if ask.status == "expired":
        return "⌛ Expired: no answer in time"
    return "🚫 Cancelled"


def log_answer(
    logger: logging.Logger, result: AnswerResult, source: str, invalid: str, invalid_level: int = logging.INFO
) -> None:
    """Log what an answer read from ``source`` did; ``invalid`` names a refused one (its reason follows)."""
    ticket = result.ask.ticket if result.ask else "?"
    if result.outcome == ACCEPTED:
        logger.info("ask %s answered on %s", ticket, source)
    elif result.outcome == INVALID:
        logger.log(invalid_level, "%s: %s (%s)", source, invalid, result.message)
    else:
        logger.info("%s: a late answer to ask %s (%s)", source, ticket, result.outcome)


class Backoff:
    """Waits after failures: 1 s doubling to ``cap``; ``reset`` after a success."""

    def __init__(self, cap: float = 30.0):
        self.cap = cap
        self.delay = 0.0

    def next(self) -> float:
        self.delay = min(self.cap, max(1.0, self.delay * 2))
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


@dataclass
class Context:
    """What every source and the closer share: where to read and write, who we are, the clock."""

    settings: Settings
    ledger: Ledger
    clients: HttpClients
    owner: str
    stopped: threading.Event
    clock: Callable[[], float] = time.time
    _key: AnswerKey | None = field(default=None, repr=False)
    # The waiting asks as the housekeeping thread last read them (the only thread that reads them while
    # idle), and ``seen`` set whenever that read found some: sources wake on it instead of polling the ledger.
    waiting: list[AskRecord] = field(default_factory=list, repr=False)
    seen: threading.Event = field(default_factory=threading.Event, repr=False)

    def look(self) -> list[AskRecord]:
        """Read the waiting asks now and share them with the sources."""
        self.waiting = self.ledger.waiting_asks(self.clock())
        if self.waiting:
            self.seen.set()
        return self.waiting

    @property
    def key(self) -> AnswerKey:
        if self._key is None:
            from mcp_push.asking.tokens import AnswerKey

            self._key = AnswerKey.load(self.settings.home)
        return self._key

    def channel(self, channel_id: str) -> Channel | None:
        """The configured channel ``channel_id`` (as a worker builds it), or None."""
        from mcp_push.channels import get_channel_class

        cls = get_channel_class(channel_id)
        if cls is None or not cls.enabled(self.settings.env):
            return None
        return cls(self.settings.env, clients=self.clients, origin=self.settings.origin_for(channel_id))

    def two_way(self) -> list[Channel]:
        """Every enabled instance of a channel that reads answers (``answers = True``), as a worker builds it."""
        from mcp_push.channels import channel_instances

        built = (self.channel(cls.id) for cls in channel_instances(self.settings.env) if cls.answers)
        return [channel for channel in built if channel is not None]  # channel(): None unless enabled


class Source(Protocol):
    """One place answers arrive: ``lease`` names it across hosts; ``round`` reads once (bounded)."""

    kind: str  # "telegram", "ntfy": the provider
    name: str  # the channel id it reads for ("telegram:2"): thread names and logs

    @property
    def lease(self) -> str: ...

    def round(self, waiting: list[AskRecord]) -> None: ...


class Closer(Protocol):
    """Edits the message one channel sent for an ask so it shows the end (raises TransientError to retry)."""

    def close(self, ask: AskRecord, ticket: TicketRecord, provider_id: str) -> None: ...


def run_source(ctx: Context, source: Source) -> None:
    """A source's loop: idle while nothing waits; else hold its lease and read, backing off on errors."""
    from mcp_push.channels.errors import DeliveryError

    backoff, held, busy_until = Backoff(), False, 0.0
    try:
        while not ctx.stopped.is_set():
            try:
                now = ctx.clock()
                waiting = [ask for ask in ctx.waiting if ask.expires_at > now]
                if waiting:
                    busy_until = now + LINGER_SECONDS
                elif now >= busy_until:
                    if held:
                        ctx.ledger.release_lease(source.lease, ctx.owner)
                        held = False
                    ctx.seen.clear()
                    if not ctx.waiting:  # set again by the housekeeping thread's next look that finds asks
                        ctx.seen.wait(IDLE_SECONDS * 4)
                    if ctx.stopped.is_set():
                        return
                    continue
                held = ctx.ledger.acquire_lease(source.lease, ctx.owner, LEASE_SECONDS, now)
                if not held:  # another process polls this bot or topic
                    ctx.stopped.wait(BUSY_SECONDS)
                    continue
                source.round(waiting)
                backoff.reset()
            except DeliveryError as exc:
                wait = max(backoff.next(), exc.retry_after or 0.0)
                log.warning("%s: %s; trying again in %.0fs", source.name, exc.reason, wait)
                ctx.stopped.wait(wait)
            except ConfigError as exc:  # the ledger is unusable (home removed, server gone): one line, no traceback
                wait = backoff.next()
                log.warning("answer listener %s: %s; trying again in %.0fs", source.name, exc, wait)
                ctx.stopped.wait(wait)
            except Exception:
                wait = backoff.next()
                log.exception("answer listener %s failed; trying again in %.0fs", source.name, wait)
                ctx.stopped.wait(wait)
    finally:
        if held:
            try:
                ctx.ledger.release_lease(source.lease, ctx.owner)
            except Exception:  # the ledger went away with the process; the lease runs out by itself
                log.debug("could not release lease %s", source.lease, exc_info=True)


class AskCloser:
    """Expires asks past their deadline and edits the messages of ended asks, then marks them closed."""

    def __init__(self, ctx: Context, closers: dict[str, Closer]):
        self.ctx = ctx
        self.closers = closers
        self._next_expiry = 0.0  # when expire_asks next has something to do (a write only then)

    def round(self) -> None:
        ledger, now = self.ctx.ledger, self.ctx.clock()
        if now >= self._next_expiry:
            expired = ledger.expire_asks(now)
            if expired:
                log.info("%d asks expired without an answer", len(expired))
            self._next_expiry = now + EXPIRY_CHECK
        waiting = self.ctx.look()
        if waiting:  # an ask's deadline before the next regular check: expire it then
            self._next_expiry = min(self._next_expiry, *(ask.expires_at for ask in waiting))
        ended = ledger.asks_to_close()
        if not ended or not ledger.acquire_lease(CLOSER_LEASE, self.ctx.owner, LEASE_SECONDS, now):
            return
        for ask in ended:
            if self.ctx.stopped.is_set():
                return
            self.close(ask, now)

    def close(self, ask: AskRecord, now: float) -> None:
        from mcp_push.channels.errors import DeliveryError, TransientError

        ledger = self.ctx.ledger
        ticket = ledger.get_ticket(ask.ticket)
        ended_for = now - (ask.ended_at or now)
        if ticket is None:
            ledger.mark_ask_closed(ask.ticket, now)
            return
        in_flight = [d for d in ticket.deliveries if d.status not in SETTLED]  # a dropped tier is settled
        if in_flight and ended_for < SETTLE_WAIT:
            return  # a message still on its way would keep live buttons: close once it is sent
        retry = False
        for delivery in ticket.deliveries:
            closer = self.closers.get(delivery.channel)
            if closer is None or delivery.status != "delivered" or not delivery.provider_id:
                continue
            try:
                closer.close(ask, ticket, delivery.provider_id)
            except TransientError as exc:
                retry = True
                log.warning("could not yet edit the %s message of ask %s: %s", delivery.channel, ask.ticket, exc.reason)
            except DeliveryError as exc:
                log.warning("the %s message of ask %s stays as sent: %s", delivery.channel, ask.ticket, exc.reason)
        if retry and ended_for < CLOSE_GIVE_UP:
            return
        ledger.mark_ask_closed(ask.ticket, now)


class Listeners:
    """The answer threads of one worker; they end when ``stopped`` is set."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        clients: HttpClients,
        owner: str,
        stopped: threading.Event,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.ctx = Context(settings, ledger, clients, owner, stopped, clock)
        self._threads: list[threading.Thread] = []

    def _parts(self) -> tuple[list[Source], dict[str, Closer]]:
        from mcp_push.asking.ntfy_listener import NtfyCloser, NtfyListener
        from mcp_push.asking.telegram_listener import TelegramCloser, TelegramListener
        from mcp_push.channels.ntfy import Ntfy
        from mcp_push.channels.telegram import Telegram

        sources: list[Source] = []
        closers: dict[str, Closer] = {}
        for channel in self.ctx.two_way():  # every account: telegram, telegram:2, ntfy, …
            if isinstance(channel, Telegram):
                sources.append(TelegramListener(self.ctx, channel))
                closers[channel.id] = TelegramCloser(channel)
            elif isinstance(channel, Ntfy):
                sources.append(NtfyListener(self.ctx, channel))
                closers[channel.id] = NtfyCloser(channel)
        return sources, closers

    def start(self) -> None:
        sources, closers = self._parts()
        closer = AskCloser(self.ctx, closers)
        self._threads = [threading.Thread(target=self._close_loop, args=(closer,), name="mcp-push-asks", daemon=True)]
        for source in sources:
            name = f"mcp-push-listen-{source.name}"
            self._threads.append(threading.Thread(target=run_source, args=(self.ctx, source), name=name, daemon=True))
        for thread in self._threads:
            thread.start()

    def _close_loop(self, closer: AskCloser) -> None:
        while not self.ctx.stopped.wait(IDLE_SECONDS):
            try:
                closer.round()
            except Exception:  # a locked or vanished ledger: the next round may do
                log.debug("closing ended asks failed this round", exc_info=True)

    def stop(self, timeout: float = 0.5) -> bool:
        """Wait a little for the threads (a long poll may hold one; it is a daemon and ends with the process)."""
        self.ctx.stopped.set()
        self.ctx.seen.set()  # idle sources wait on it: let them see the stop
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
