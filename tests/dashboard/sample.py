"""Realistic ledger contents for the dashboard tests and its screenshot, written through the Ledger API.

Deliveries are driven the way a worker drives them (claim, record_attempt, then finish or
defer) with explicit timestamps, so timelines, waits and the 24-hour chart look like a real day.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mcp_push.storage.base import Ledger, NewTicket, TicketRecord

OWNER = "sample-host:4121:a1b2c3"
GONE_WORKER = "ci-runner-3:977:ffe210"
LEASE = 60.0

# (start, took, outcome, error) for each attempt, times in epoch seconds.
Try = tuple[float, float, str, str | None]

TELEGRAM_502 = "HTTP 502 from api.telegram.org: <html>Bad Gateway</html>"
SLACK_REVOKED = "slack answered ok=false: invalid_auth (the webhook or token was revoked or is wrong)"
DINGTALK_SIGN = "dingtalk errcode 310000: sign not match; check DD_BOT_SECRET"
NTFY_FORBIDDEN = "HTTP 403 from ntfy.sh: forbidden (the topic is reserved; set NTFY_TOKEN)"
TIMEOUT = "timed out after 10 s connecting to api.telegram.org"
RATE_LIMITED = "HTTP 429 Too Many Requests: retry after 120 s"


def recorded_reason(event: str) -> str:
    """What the notifier writes for an event that is recorded, not pushed."""
    return (
        f"'{event}' events are recorded, not pushed (MCP_PUSH_EVENTS=end,error); "
        f"add {event} to MCP_PUSH_EVENTS to push them"
    )


@dataclass(frozen=True)
class Sample:
    """Run ids by the status the dashboard should show for them."""

    success: str
    partial: str
    error: str
    retrying: str
    recorded: str
    queued: str
    sending: str

    @property
    def by_status(self) -> dict[str, str]:
        return {
            self.success: "success",
            self.partial: "partial_success",
            self.error: "error",
            self.retrying: "delivering",
            self.recorded: "recorded",
            self.queued: "queued",
            self.sending: "delivering",
        }


class Writer:
    def __init__(self, ledger: Ledger, enqueue: Callable[..., None] | None = None):
        self.ledger = ledger
        self.enqueue = enqueue
        self.serial = 0

    def ticket(
        self,
        run_id: str,
        title: str,
        at: float,
        channels: Sequence[str] = (),
        *,
        event: str | None = None,
        reason: str | None = None,
    ) -> TicketRecord:
        self.serial += 1
        content = f"{title}\n\nsample notification #{self.serial}"
        new = NewTicket(
            f"tk-{int(at * 1000):012x}{self.serial:08x}",
            run_id,
            title,
            content,
            at,
            tuple(channels),
            event,
            None,
            reason,
            None,
        )
        record, created = self.ledger.create_ticket(new)
        assert created
        return record

    def play(self, delivery_id: int, tries: Sequence[Try], final: str, at: float | None = None) -> None:
        """Drive one delivery: attempts (re-claiming after long waits), then ``final``.

        ``final``: delivered | failed | retrying (next attempt at ``at``) | in_flight (claimed at ``at``).
        """
        led = self.ledger
        previous_end: float | None = None
        for start, took, outcome, error in tries:
            if previous_end is None or start - previous_end > 10:
                if previous_end is not None:
                    led.defer(delivery_id, OWNER, start, error, previous_end, retrying=True)
                assert led.claim(delivery_id, OWNER, LEASE, start) is not None
            led.record_attempt(delivery_id, start, start + took, outcome, error)
            previous_end = start + took
        last_error = tries[-1][3] if tries else None
        if final == "delivered":
            assert previous_end is not None
            led.finish(delivery_id, OWNER, "delivered", None, previous_end)
        elif final == "failed":
            end = previous_end if previous_end is not None else at
            if previous_end is None:
                assert at is not None and led.claim(delivery_id, OWNER, LEASE, at) is not None
            led.finish(delivery_id, OWNER, "failed", last_error, end)
        elif final == "retrying":
            assert at is not None and previous_end is not None
            led.defer(delivery_id, OWNER, at, last_error, previous_end, retrying=True)
            if self.enqueue:
                self.enqueue(delivery_id, 60.0)
        elif final == "in_flight":
            assert at is not None and led.claim(delivery_id, OWNER, LEASE, at) is not None
        else:
            raise ValueError(final)


def fill(ledger: Ledger, now: float, enqueue: Callable[..., None] | None = None, *, history: int = 60) -> Sample:
    """The runs a person would look at right now, plus a day of older runs for the chart."""
    w = Writer(ledger, enqueue)
    _history(w, now, history)

    # error: every channel failed, with the providers' reasons
    run = "deploy-prod-7"
    t0 = now - 41 * 60
    rec = w.ticket(run, "❌ Failed · deploy-prod-7", t0, ["dingtalk", "ntfy"], event="error")
    w.play(rec.deliveries[0].id, [(t0 + 0.2, 0.31, "permanent", DINGTALK_SIGN)], "failed")
    w.play(rec.deliveries[1].id, [(t0 + 0.2, 0.18, "permanent", NTFY_FORBIDDEN)], "failed")

    # recorded: a start event that is recorded, not pushed
    recorded = "claude:session-7"
    w.ticket(recorded, "▶️ Started · claude:session-7", now - 26 * 60, event="start", reason=recorded_reason("start"))

    # success: recorded start, then the end pushed to two channels
    success = "claude:refactor-auth"
    t0 = now - 19 * 60
    w.ticket(success, "▶️ Started · claude:refactor-auth", t0, event="start", reason=recorded_reason("start"))
    t1 = t0 + 14 * 60
    rec = w.ticket(success, "✅ Finished · claude:refactor-auth", t1, ["telegram", "ntfy"], event="end")
    w.play(rec.deliveries[0].id, [(t1 + 0.1, 0.42, "delivered", None)], "delivered")
    w.play(rec.deliveries[1].id, [(t1 + 0.1, 0.27, "delivered", None)], "delivered")

    # retrying (overall: delivering): inline retries, a deferred round, then a rate limit
    retrying = "codex:migrate-db"
    t0 = now - 4 * 60
    rec = w.ticket(retrying, "❌ Failed · codex:migrate-db", t0, ["telegram", "bark"], event="error")
    w.play(
        rec.deliveries[0].id,
        [
            (t0 + 0.1, 10.0, "transient", TIMEOUT),
            (t0 + 10.8, 10.0, "transient", TIMEOUT),
            (t0 + 22.4, 10.0, "transient", TIMEOUT),
            (t0 + 92.5, 0.35, "rate_limited", RATE_LIMITED),
        ],
        "retrying",
        at=now + 90,
    )
    w.play(rec.deliveries[1].id, [(t0 + 0.1, 0.52, "delivered", None)], "delivered")

    # in flight: a worker holds it right now
    sending = "ci:e2e-suite"
    t0 = now - 75
    rec = w.ticket(sending, "✅ Finished · ci:e2e-suite", t0, ["telegram"], event="end")
    w.play(rec.deliveries[0].id, [], "in_flight", at=now - 2)

    # partial: telegram got through after two 502s, slack refused for good
    partial = "nightly-build-1482"
    t0 = now - 55
    w.ticket(
        partial, "🔄 Progress · nightly-build-1482", t0 - 20 * 60, event="update", reason=recorded_reason("update")
    )
    rec = w.ticket(partial, "❌ Failed · nightly-build-1482", t0, ["telegram", "slack"], event="error")
    w.play(
        rec.deliveries[0].id,
        [
            (t0 + 0.1, 0.61, "transient", TELEGRAM_502),
            (t0 + 1.3, 0.58, "transient", TELEGRAM_502),
            (t0 + 3.2, 0.44, "delivered", None),
        ],
        "delivered",
    )
    w.play(rec.deliveries[1].id, [(t0 + 0.1, 0.24, "permanent", SLACK_REVOKED)], "failed")

    # queued: just written, no worker has taken it yet
    queued = "gpt:weekly-report"
    rec = w.ticket(queued, "Weekly report is ready for review", now - 3, ["telegram", "ntfy"])
    if enqueue:
        for d in rec.deliveries:
            enqueue(d.id)

    ledger.heartbeat(OWNER, now, "worker")
    ledger.heartbeat(GONE_WORKER, now - 15 * 60, "drain")
    return Sample(success, partial, "deploy-prod-7", retrying, recorded, queued, sending)


def _history(w: Writer, now: float, count: int) -> None:
    """Older, settled runs spread over the last day: mostly delivered, some retries, a few failures."""
    rng = random.Random(1482)
    channels = ["telegram", "ntfy", "slack", "bark", "dingtalk"]
    for i in range(count):
        t0 = now - 23.5 * 3600 + i * (22.5 * 3600 / max(count, 1)) + rng.uniform(0, 600)
        run = f"build-{1440 + i}" if i % 3 else f"claude:task-{700 + i}"
        targets = rng.sample(channels, rng.choice([1, 2, 2, 3]))
        failed = rng.random() < 0.12
        title = f"{'❌ Failed' if failed else '✅ Finished'} · {run}"
        rec = w.ticket(run, title, t0, targets, event="error" if failed else "end")
        for d in rec.deliveries:
            roll = rng.random()
            if roll < 0.80:
                w.play(d.id, [(t0 + 0.1, rng.uniform(0.15, 0.9), "delivered", None)], "delivered")
            elif roll < 0.94:
                tries: list[Try] = [(t0 + 0.1, 0.5, "transient", "HTTP 503 Service Unavailable")]
                tries.append((t0 + 61, 0.4, "delivered", None))
                w.play(d.id, tries, "delivered")
            else:
                w.play(d.id, [(t0 + 0.1, 0.3, "permanent", "HTTP 400 Bad Request: chat not found")], "failed")
