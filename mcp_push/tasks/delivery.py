"""One delivery attempt cycle: claim, respect the rate limit, send with retries, record the outcome.

Two tiers of retry: tenacity retries transient failures a few times inside the task
(honouring the provider's Retry-After up to a cap); after that the delivery goes back to
the ledger as ``retrying`` and a delayed Huey task picks it up later, with a growing delay
bounded by a maximum age. Permanent failures are never retried.

Stopping: when the worker halts, no new attempt starts and waits (backoff, rate limit) end
at once; a delivery caught before its send is handed back to the queue, due when the wait
would have ended, so another worker sends it exactly once. A send already on the wire is
left to finish (its answer is the truth); one the worker gave up waiting for is
``abandoned``: the worker handed it back itself, and whatever the send then returns, only a
success is written.

Asks: the message of an ask ticket carries ``Message.ask`` (a signed token per choice, and the
answer page's link when MCP_PUSH_PUBLIC_URL is set); a channel without buttons gets the link,
or a pointer to the terminal, in its text (and no hitokoto sentence). An ask that ended before
its delivery was sent (a retry that comes after the answer) is not sent: the delivery is
settled ``failed`` with the reason, since a question nobody can answer any more would only mislead.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from mcp_push.channels import (
    DeliveryError,
    HttpClients,
    PermanentError,
    RateLimitedError,
    TransientError,
    get_channel_class,
)
from mcp_push.channels.base import AskPrompt, Channel, Message
from mcp_push.config import ASK_EVENT, Settings
from mcp_push.errors import ConfigError
from mcp_push.storage import Delivery, Ledger, TicketRecord
from mcp_push.storage.state import LedgerState
from mcp_push.tasks.hitokoto import Hitokoto
from mcp_push.views import ASK_ANSWERED, ASK_CANCELLED, ASK_WAITING

if TYPE_CHECKING:
    from mcp_push.asking.tokens import AnswerKey
    from mcp_push.storage.base import AskRecord

log = logging.getLogger(__name__)

# Waits for our own rate limiter up to this long happen in the task; longer ones give the worker back.
INLINE_RATE_WAIT = 2.0

Enqueue = Callable[[int, float], None]


class _Halted(Exception):
    """The worker is stopping: this delivery goes back to the queue (due at ``resume_at``, or now)."""

    def __init__(self, resume_at: float | None = None):
        super().__init__("the worker is stopping")
        self.resume_at = resume_at


class _Defer(Exception):
    """Our own rate limiter wants this delivery later; not a failed attempt."""

    def __init__(self, wait: float):
        super().__init__(f"rate limit: next slot in {wait:.1f}s")
        self.wait = wait


@dataclass
class _Try:
    """One try at the provider, not yet written to the ledger."""

    started: float
    finished: float
    outcome: str
    error: str | None = None
    provider_id: str | None = None


@dataclass
class _Task:
    """One run of a delivery: how many tries it made, and the last one until it is written.

    The last try is written together with what follows from it (delivered, failed, retry
    later) in one ledger call; a try followed by an inline retry is written on its own first.
    """

    delivery: Delivery
    tries: int = 0
    unwritten: _Try | None = None

    def take(self) -> _Try | None:
        last, self.unwritten = self.unwritten, None
        return last


@dataclass
class Deliverer:
    """Runs delivery tasks for one worker process (``owner`` names it in leases)."""

    settings: Settings
    ledger: Ledger
    clients: HttpClients
    owner: str
    enqueue: Enqueue
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] | None = None  # None: a real wait, cut short when the worker halts

    def __post_init__(self) -> None:
        self.hitokoto = Hitokoto(self.settings, self.clients)
        self.halt = threading.Event()  # set by Worker.stop: start nothing new, end waits now
        self.abandoned = threading.Event()  # set when the worker stopped waiting for sends in progress
        self._active = 0
        self._idle = threading.Condition()

    # --- stopping -------------------------------------------------------------
    def resume(self) -> None:
        """Take work again (a new Worker on this runtime, e.g. a drain worker's next round)."""
        self.halt.clear()
        self.abandoned.clear()

    @property
    def active(self) -> int:
        """Tasks inside ``run`` right now (claiming, sending or recording)."""
        with self._idle:
            return self._active

    def wait_idle(self, timeout: float, hurry: Callable[[], bool] | None = None) -> bool:
        """Wait until no task is inside ``run``, at most ``timeout`` seconds or until ``hurry()``."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0 or (hurry is not None and hurry()):
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    def _pause(self, seconds: float) -> None:
        """Sleep for a retry or a rate slot; a halting worker ends it at once (raising _Halted)."""
        resume_at = self.clock() + seconds
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.halt.wait(seconds):
            raise _Halted(resume_at)
        if self.halt.is_set():
            raise _Halted(resume_at)

    # --- a task -----------------------------------------------------------------
    def run(self, delivery_id: int) -> str:
        """Handle one delivery; return what happened (for logs and tests)."""
        with self._idle:
            self._active += 1
        try:
            if self.halt.is_set():  # dequeued as the worker stopped: put the task back for another worker
                self.enqueue(delivery_id, 0.0)
                return "released"
            return self._run(delivery_id)
        except ConfigError as exc:
            # The ledger itself is unusable (its home was removed, its server went away): one line,
            # not a traceback. The row is still the truth; the sweep re-enqueues it once the ledger is back.
            log.warning("delivery %s left for later: %s", delivery_id, exc)
            return "ledger-unavailable"
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _run(self, delivery_id: int) -> str:
        now = self.clock()
        claimed = self.ledger.claim_with_ticket(delivery_id, self.owner, self.settings.lease_seconds, now)
        if claimed is None:
            return self._not_claimed(delivery_id, now)
        delivery, ticket = claimed
        channel_cls = get_channel_class(delivery.channel)
        if channel_cls is None or not channel_cls.enabled(self.settings.env):
            missing = channel_cls.missing(self.settings.env) if channel_cls else []
            hint = f"set {', '.join(missing)}" if missing else "configure it"
            reason = f"channel {delivery.channel!r} is not configured in this worker; {hint} where the worker runs"
            self.ledger.finish(delivery.id, self.owner, "failed", reason, self.clock())
            return "failed"
        channel = channel_cls(
            self.settings.env,
            clients=self.clients,
            origin=self.settings.origin_for(channel_cls.id),
            state=LedgerState(self.ledger, delivery.id, self.clock),
        )
        if ticket.event == ASK_EVENT:
            message, why_not = self._ask_message(ticket, channel_cls.answers)
            if message is None:
                self.ledger.finish(delivery.id, self.owner, "failed", why_not, self.clock())
                return "failed"
            return self._send(delivery, channel, message)
        content = self.hitokoto.decorate(ticket.ticket, ticket.content)
        message = Message(ticket.title, content, ticket.run_id, ticket.ticket, ticket.event, **_rendering(ticket))
        return self._send(delivery, channel, message)

    # --- asks ------------------------------------------------------------------
    @cached_property
    def answer_key(self) -> AnswerKey:
        """This home's answer key, read once per worker (created on the first ask)."""
        from mcp_push.asking.tokens import AnswerKey

        return AnswerKey.load(self.settings.home)

    def _ask_message(self, ticket: TicketRecord, answers: bool) -> tuple[Message | None, str]:
        """The message of an ask, or (None, why it is not sent)."""
        ask = self.ledger.get_ask(ticket.ticket)
        if ask is None:  # an "ask" ticket without its question: send it as the plain text it is
            return Message(
                ticket.title, ticket.content, ticket.run_id, ticket.ticket, ticket.event, **_rendering(ticket)
            ), ""
        if ask.status != ASK_WAITING or self.clock() >= ask.expires_at:
            return None, _ended(ask)
        try:
            prompt = ask_prompt(self.answer_key, ask, self.settings.public_url)
        except ConfigError as exc:
            return None, f"the ask cannot be signed: {exc}"
        content = ticket.content
        if not answers:
            content += "\n\n" + answer_hint(ticket.ticket, prompt.link)
        return (
            Message(
                ticket.title, content, ticket.run_id, ticket.ticket, ticket.event, ask=prompt, **_rendering(ticket)
            ),
            "",
        )

    # --- internals ------------------------------------------------------------
    def _not_claimed(self, delivery_id: int, now: float) -> str:
        """Someone else has it, it is done, or it is not due yet (then come back when it is)."""
        current = self.ledger.get_delivery(delivery_id)
        if current is None:
            return "missing"
        if current.status in ("pending", "retrying") and current.next_attempt_at and current.next_attempt_at > now:
            self.enqueue(delivery_id, current.next_attempt_at - now)
            return "not-due"
        return "skipped"

    def _attempt(self, task: _Task, channel: Channel, message: Message) -> None:
        if self.halt.is_set():
            raise _Halted()
        self._take_rate_slot(channel)
        started = self.clock()
        try:
            receipt = channel.send(message)
        except DeliveryError as exc:
            if self.abandoned.is_set():  # already handed back; the next worker's attempt is the one that counts
                raise _Halted() from None
            outcome = (
                "rate_limited"
                if isinstance(exc, RateLimitedError)
                else ("transient" if isinstance(exc, TransientError) else "permanent")
            )
            task.tries += 1
            task.unwritten = _Try(started, self.clock(), outcome, channel.redact(exc.reason))
            raise
        except Exception as exc:  # a bug in a channel must not leave the delivery in flight forever
            if self.abandoned.is_set():
                raise _Halted() from None
            log.exception("channel %s raised unexpectedly", channel.id)
            reason = channel.redact(f"internal error in channel {channel.id}: {type(exc).__name__}: {exc}")
            task.tries += 1
            task.unwritten = _Try(started, self.clock(), "permanent", reason)
            raise PermanentError(reason or "internal error") from None
        task.tries += 1
        task.unwritten = _Try(started, self.clock(), "delivered", provider_id=getattr(receipt, "provider_id", None))

    def _write(self, delivery: Delivery, task: _Task, *, status: str, **outcome: Any) -> None:
        """Write the task's last try with the delivery's new ``status`` (one ledger call), or the status alone."""
        last = task.take()
        if last is None:
            if status in ("delivered", "failed"):
                self.ledger.finish(delivery.id, self.owner, status, outcome.get("last_error"), self.clock())
            else:
                due, error = outcome["next_attempt_at"], outcome.get("last_error")
                self.ledger.defer(delivery.id, self.owner, due, error, self.clock(), retrying=status == "retrying")
            return
        self.ledger.settle(
            delivery.id,
            self.owner,
            last.started,
            last.finished,
            last.outcome,
            last.error,
            status=status,
            provider_id=last.provider_id,
            **outcome,
        )

    def _take_rate_slot(self, channel: Channel) -> None:
        limit = channel.rate_limit
        if limit is None:
            return
        while True:
            wait = self.ledger.reserve_rate(channel.rate_key(), limit.count, limit.per, self.clock())
            if wait <= 0:
                return
            if wait > INLINE_RATE_WAIT:
                raise _Defer(wait)
            self._pause(wait)

    def _tenacity_wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return min(float(asked), self.settings.try_wait_max)
        backoff = min(0.5 * 2 ** (state.attempt_number - 1), self.settings.try_wait_max)
        return backoff * random.uniform(0.5, 1.0)

    def _retry_inline(self, exc: BaseException) -> bool:
        if not isinstance(exc, TransientError) or self.halt.is_set():
            return False
        return exc.retry_after is None or exc.retry_after <= self.settings.try_wait_max

    def _write_and_renew(self, state: RetryCallState) -> None:
        """Before an inline retry: write the failed try, and keep the lease for the next one.

        ``state.args`` are those ``_send`` passes to ``_attempt``: (task, channel, message)."""
        task: _Task = state.args[0]
        delivery, last = task.delivery, task.take()
        if last is not None:
            self.ledger.record_attempt(delivery.id, last.started, last.finished, last.outcome, last.error)
        self.ledger.renew_lease(delivery.id, self.owner, self.settings.lease_seconds, self.clock())

    @cached_property
    def _retrying(self) -> Retrying:
        """The inline retry policy, one for the worker (tenacity keeps each call's state per thread)."""
        return Retrying(
            stop=stop_after_attempt(self.settings.try_attempts),
            retry=retry_if_exception(self._retry_inline),
            wait=self._tenacity_wait,
            sleep=self._pause,
            before_sleep=self._write_and_renew,
            reraise=True,
        )

    def _send(self, delivery: Delivery, channel: Channel, message: Message) -> str:
        task = _Task(delivery)
        try:
            self._retrying(self._attempt, task, channel, message)
        except _Halted as halted:
            return self._release(delivery, task, halted.resume_at)
        except _Defer as deferral:
            now = self.clock()
            self.ledger.defer(delivery.id, self.owner, now + deferral.wait, None, now, retrying=False)
            self.enqueue(delivery.id, deferral.wait)
            return "deferred"
        except PermanentError as exc:
            self._write(delivery, task, status="failed", last_error=channel.redact(exc.reason))
            return "failed"
        except TransientError as exc:
            if self.halt.is_set():  # failed as we stop: the next worker tries again when tenacity would have
                asked = exc.retry_after
                return self._release(delivery, task, None if asked is None else self.clock() + asked)
            return self._reschedule(delivery, task, channel, exc)
        self._write(delivery, task, status="delivered")
        return "delivered"

    def _release(self, delivery: Delivery, task: _Task, resume_at: float | None) -> str:
        """Hand a claimed delivery back to the queue as the worker stops, due at ``resume_at`` (or now)."""
        if self.abandoned.is_set():  # Worker.stop already released and re-enqueued it
            last = task.take()
            if last is not None:
                self.ledger.record_attempt(delivery.id, last.started, last.finished, last.outcome, last.error)
            return "released"
        now = self.clock()
        due = max(resume_at or now, now)
        attempts = delivery.attempts + task.tries
        self._write(delivery, task, status="retrying" if attempts > 0 else "pending", next_attempt_at=due)
        self.enqueue(delivery.id, due - now)
        return "released"

    def _reschedule(self, delivery: Delivery, task: _Task, channel: Channel, exc: TransientError) -> str:
        """Give the worker back; try again later with a growing delay, or give up past the maximum age."""
        now = self.clock()
        attempts = delivery.attempts + task.tries
        rounds = max(0, attempts // self.settings.try_attempts - 1)
        delay = min(self.settings.retry_base * 2**rounds, self.settings.retry_max_delay)
        if exc.retry_after is not None:  # the provider said how long: never come back sooner
            delay = max(delay, exc.retry_after)
        reason = channel.redact(exc.reason)
        if now + delay > delivery.age_base + self.settings.max_age:
            hours = self.settings.max_age / 3600
            final = f"gave up after {attempts} attempts over {hours:g}h; last error: {reason}"
            self._write(delivery, task, status="failed", last_error=final)
            return "failed"
        self._write(delivery, task, status="retrying", next_attempt_at=now + delay, last_error=reason)
        self.enqueue(delivery.id, delay)
        return "retrying"


# --- asks -------------------------------------------------------------------------------------


def ask_prompt(key: AnswerKey, ask: AskRecord, public_url: str | None) -> AskPrompt:
    """What a channel needs to offer the ask's answers: a signed token per choice, and the page's link."""
    from mcp_push.asking.tokens import ANY_CHOICE

    tokens = tuple(key.sign(ask.ticket, str(i)) for i in range(len(ask.choices)))
    link = f"{public_url}/answer/{key.sign(ask.ticket, ANY_CHOICE)}" if public_url else None
    return AskPrompt(ask.choices, tokens, ask.allow_text, link)


def answer_hint(ticket: str, link: str | None) -> str:
    """The line a channel without buttons appends to an ask: where to answer."""
    if link:
        return f"Answer: {link}"
    return f"Answer in the terminal (mcp-push answer {ticket} <choice>), or set MCP_PUSH_PUBLIC_URL for an answer link"


def _ended(ask: AskRecord) -> str:
    """Why an ask's delivery is not sent any more."""
    if ask.status == ASK_ANSWERED:
        return f"not sent: the ask was already answered (via {ask.answered_via}) before this message went out"
    if ask.status == ASK_CANCELLED:
        return "not sent: the ask was cancelled before this message went out"
    return "not sent: the ask expired before this message went out"


def _rendering(ticket: TicketRecord) -> dict[str, Any]:
    """How the ticket asked to be rendered (``Message.format/priority/url/source``), as stored with it."""
    return {"format": ticket.format, "priority": ticket.priority, "url": ticket.url, "source": ticket.source}
