"""What the dashboard shows, read through the ``Ledger`` interface only (any backend), in one pass.

Statuses come from ``views.ticket_view``/``status_document`` so the page, the CLI and the
MCP tools never disagree about what "partial_success" means.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_push.channels import configured_secrets
from mcp_push.channels.redact import Redactor, split_userinfo, url_password
from mcp_push.config import Settings
from mcp_push.storage.base import LIVE_WITHIN, Attempt, Ledger, TicketRecord
from mcp_push.views import OPEN, DeliveryView, TicketView, rollup, status_document

log = logging.getLogger(__name__)

RUN_LIMIT = 25
CHART_BUCKETS = 24
BUCKET_SECONDS = 3600.0
# Workers seen within this window but not within LIVE_WITHIN are shown as gone, not forgotten.
RECENT_WORKERS = 3600.0

# Attempt outcomes as the chart counts them: the last two would be retried, a permanent one is not.
OUTCOME_KIND: Mapping[str, str] = {
    "delivered": "delivered",
    "transient": "retried",
    "rate_limited": "retried",
    "permanent": "failed",
}
KINDS = ("delivered", "retried", "failed")

Scrub = Callable[[str], str]


@dataclass(frozen=True)
class RunRow:
    """One line of the recent-runs list."""

    run_id: str
    status: str
    tickets: int
    title: str
    last_activity: float
    channels: tuple[tuple[str, str], ...]  # (channel, rolled-up status of its deliveries in the run)


@dataclass(frozen=True)
class DeliveryLine:
    """One channel of one ticket: its view (statuses) plus the raw times and attempts for the timeline."""

    view: DeliveryView
    created_at: float
    updated_at: float
    delivered_at: float | None
    next_attempt_at: float | None
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class TicketCard:
    view: TicketView
    created_at: float
    deliveries: tuple[DeliveryLine, ...]
    record: TicketRecord | None = None  # what the channels render the message from (dashboard/message.py)


@dataclass(frozen=True)
class RunDetail:
    run_id: str
    status: str
    tickets: tuple[TicketCard, ...]


@dataclass(frozen=True)
class Health:
    """Queue depth (None when the queue cannot say) and which workers beat recently."""

    queued: int | None
    scheduled: int | None
    unfinished: int
    alive: tuple[str, ...]
    gone: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    channel: str
    buckets: tuple[tuple[int, int, int], ...]  # (delivered, retried, failed) per bucket

    @property
    def totals(self) -> tuple[int, int, int]:
        return (
            sum(b[0] for b in self.buckets),
            sum(b[1] for b in self.buckets),
            sum(b[2] for b in self.buckets),
        )


@dataclass(frozen=True)
class Chart:
    start: float
    bucket: float
    series: tuple[Series, ...]

    @property
    def totals(self) -> tuple[int, int, int]:
        sums = [s.totals for s in self.series]
        return (sum(t[0] for t in sums), sum(t[1] for t in sums), sum(t[2] for t in sums))


@dataclass(frozen=True)
class Snapshot:
    now: float
    runs: tuple[RunRow, ...]
    selected: RunDetail | None
    missing_run: str | None  # asked for with ?run= but not in the ledger
    health: Health
    chart: Chart


def secret_scrubber(settings: Settings | None) -> Scrub:
    """Mask every secret setting value (and credential-looking patterns) in provider text.

    Errors are redacted before the ledger stores them; this is the second fence, for a channel
    that forgot to. It is for the providers' reasons only: the user's title, content and run id
    are shown as written (a topic named ``alerts`` must not hide the word in "3 alerts fired").
    """
    values: list[str | None] = []
    if settings is not None:
        values.extend(configured_secrets(settings.env))
        values.append(settings.http_token)
        for url in (settings.db_url, settings.queue_url):
            if url:
                values.extend([url, split_userinfo(url)[2], url_password(url)])
    redact = Redactor(values)
    return lambda text: redact(text) or ""


def _queue_depth(huey: Any) -> tuple[int | None, int | None]:
    if huey is None:
        return None, None
    try:
        return int(huey.pending_count()), int(huey.scheduled_count())
    except Exception:  # a queue backend that cannot count must not take the page down
        log.warning("the queue could not report its depth", exc_info=True)
        return None, None


def health(ledger: Ledger, huey: Any, now: float) -> Health:
    alive = ledger.live_workers(now, LIVE_WITHIN)
    recent = ledger.live_workers(now, RECENT_WORKERS)
    queued, scheduled = _queue_depth(huey)
    return Health(
        queued=queued,
        scheduled=scheduled,
        unfinished=ledger.unfinished_count(),
        alive=tuple(alive),
        gone=tuple(w for w in recent if w not in set(alive)),
    )


def chart(ledger: Ledger, now: float) -> Chart:
    """Attempts per channel in hourly buckets; the last bucket is the current hour."""
    end = (math.floor(now / BUCKET_SECONDS) + 1) * BUCKET_SECONDS
    start = end - CHART_BUCKETS * BUCKET_SECONDS
    counts: dict[str, list[list[int]]] = {}
    for channel, slot, outcome, count in ledger.outcome_counts(start, BUCKET_SECONDS):
        index = min(max(int((slot - start) // BUCKET_SECONDS), 0), CHART_BUCKETS - 1)
        kind = OUTCOME_KIND.get(outcome, "failed")
        row = counts.setdefault(channel, [[0, 0, 0] for _ in range(CHART_BUCKETS)])
        row[index][KINDS.index(kind)] += count
    series = [Series(channel, tuple((b[0], b[1], b[2]) for b in rows)) for channel, rows in counts.items()]
    series.sort(key=lambda s: (-sum(s.totals), s.channel))
    return Chart(start, BUCKET_SECONDS, tuple(series))


def _last_activity(records: Iterable[TicketRecord]) -> float:
    stamps = [r.created_at for r in records]
    stamps += [d.updated_at for r in records for d in r.deliveries]
    return max(stamps, default=0.0)


def run_row(run_id: str, records: list[TicketRecord]) -> RunRow:
    document = status_document(run_id, records)
    by_channel: dict[str, list[str]] = {}
    for ticket in document.tickets:
        for d in ticket.deliveries:
            by_channel.setdefault(d.channel, []).append(d.status)
    return RunRow(
        run_id=run_id,
        status=document.status,
        tickets=len(records),
        title=records[-1].title if records else "",
        last_activity=_last_activity(records),
        channels=tuple((channel, rollup(statuses)) for channel, statuses in by_channel.items()),
    )


def run_detail(ledger: Ledger, run_id: str, records: list[TicketRecord]) -> RunDetail:
    document = status_document(run_id, records)
    cards = []
    for record, view in zip(records, document.tickets, strict=True):
        attempts = ledger.attempts(record.ticket)
        lines = tuple(
            DeliveryLine(
                view=dview,
                created_at=d.created_at,
                updated_at=d.updated_at,
                delivered_at=d.delivered_at,
                next_attempt_at=d.next_attempt_at if d.status in OPEN else None,
                attempts=tuple(a for a in attempts if a.delivery_id == d.id),
            )
            for d, dview in zip(record.deliveries, view.deliveries, strict=True)
        )
        cards.append(TicketCard(view=view, created_at=record.created_at, deliveries=lines, record=record))
    # Newest ticket first: the end of a run is what a person looks for.
    return RunDetail(run_id=run_id, status=document.status, tickets=tuple(reversed(cards)))


def take_snapshot(ledger: Ledger, huey: Any, now: float, selected: str | None = None) -> Snapshot:
    runs = []
    records_by_run: dict[str, list[TicketRecord]] = {}
    for run_id in ledger.recent_run_ids(RUN_LIMIT):
        records = ledger.run_tickets(run_id)
        if records:
            records_by_run[run_id] = records
            runs.append(run_row(run_id, records))
    detail, missing = None, None
    wanted = selected if selected else (runs[0].run_id if runs else None)
    if wanted is not None:
        records = records_by_run.get(wanted) or ledger.run_tickets(wanted)
        if records:
            detail = run_detail(ledger, wanted, records)
        else:
            missing = wanted
    return Snapshot(
        now=now,
        runs=tuple(runs),
        selected=detail,
        missing_run=missing,
        health=health(ledger, huey, now),
        chart=chart(ledger, now),
    )
