"""Server-rendered HTML of the dashboard: every value from the ledger goes through ``esc``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from mcp_push.channels.base import Message
from mcp_push.dashboard.assets import CSS, FAVICON, SCRIPT
from mcp_push.dashboard.chart import render_chart
from mcp_push.dashboard.fmt import duration, esc, iso, time_tag
from mcp_push.dashboard.message import as_sent, message_of
from mcp_push.dashboard.preview import panel
from mcp_push.dashboard.snapshot import (
    DeliveryLine,
    Health,
    RunDetail,
    RunRow,
    Scrub,
    Snapshot,
    TicketCard,
)
from mcp_push.storage.base import Attempt

TONE = {
    # run and ticket
    "recorded": "grey",
    "queued": "grey",
    "delivering": "blue",
    "success": "green",
    "partial_success": "amber",
    "error": "red",
    # delivery
    "pending": "grey",
    "in_flight": "blue",
    "retrying": "amber",
    "delivered": "green",
    "failed": "red",
    # the attention rules: waiting for a release time, carried by a digest, not needed
    "held": "blue",
    "folded": "green",
    "dropped": "grey",
}
LABEL = {"partial_success": "partial success", "in_flight": "in flight"}
OUTCOME_LABEL = {"rate_limited": "rate limited"}
# Show at most this many attempts of one delivery; the middle of a long retry story is folded.
MAX_ATTEMPTS_SHOWN = 7
LONG_WAIT = 30.0
MAX_CHIPS = 5
MAX_REASONS = 4
# The newest tickets of a run get a "message as sent" panel (open for the newest): rendering costs a parse each.
MAX_PREVIEW_TICKETS = 10


@dataclass(frozen=True)
class View:
    """How to render: where links point (base path), how to scrub text, the refresh period, the CSP nonce,
    the env the channels render with; it collects the inline styles the page's CSP must admit."""

    base: str
    scrub: Scrub
    refresh: float
    nonce: str
    env: Mapping[str, str] = field(default_factory=dict)  # the channels' settings, to render as they would
    styles: set[str] = field(default_factory=set)  # CSP hashes of the e-mails' inline styles on this page

    def allow_styles(self, hashes: set[str]) -> None:
        self.styles.update(hashes)

    def e(self, value: object) -> str:
        """Escape the user's own text (title, run id, ticket) as written: never masked, never rewritten."""
        return esc(value)

    def err(self, value: object) -> str:
        """Escape a provider's reason, with any secret that slipped past the channel's redaction masked."""
        return esc(value, self.scrub)

    def run_href(self, run_id: str) -> str:
        return f"{self.base}/?run={quote(run_id, safe='')}"


def pill(status: str) -> str:
    return (
        f'<span class="pill tone-{TONE.get(status, "grey")}" data-status="{esc(status)}">'
        f"{esc(LABEL.get(status, status))}</span>"
    )


# --- tiles --------------------------------------------------------------------------------------


def _tile(key: str, value: str, detail: str, tone: str = "grey", name: str = "") -> str:
    return (
        f'<div class="tile tone-{tone}" data-tile="{name}"><div class="k">{key}</div>'
        f'<div class="v">{value}</div><div class="d">{detail}</div></div>'
    )


def _queue_tile(h: Health) -> str:
    if h.queued is None or h.scheduled is None:
        value, depth = "—", "depth unavailable"
    else:
        value, depth = str(h.queued + h.scheduled), f"{h.queued} queued · {h.scheduled} scheduled"
    tone = "blue" if h.unfinished else "grey"
    title = f"tasks in the queue: {depth}; deliveries not yet settled in the ledger: {h.unfinished}"
    return _tile("Queue", value, f'<span title="{esc(title)}">{depth} · {h.unfinished} open</span>', tone, "queue")


def _workers_tile(h: Health, view: View) -> str:
    gone = f" <small>· {len(h.gone)} gone</small>" if h.gone else ""
    if h.alive:
        value = f"{len(h.alive)} <small>alive</small>{gone}"
        tone = "green"
    else:
        value = f"none <small>alive</small>{gone}"
        tone = "red" if h.unfinished else "grey"
    names = ", ".join(h.alive) if h.alive else "start mcp-push serve or mcp-push worker"
    title = "alive: " + (", ".join(h.alive) or "none")
    if h.gone:
        title += "; gone within the hour: " + ", ".join(h.gone)
    return _tile(
        "Workers",
        value,
        f'<span title="{view.e(title)}" class="mono">{view.e(names)}</span>',
        tone,
        "workers",
    )


def _tone(count: int, tone: str) -> str:
    return tone if count else "grey"


def tiles(snapshot: Snapshot, view: View) -> str:
    delivered, retried, failed = snapshot.chart.totals
    return (
        '<section class="tiles">'
        + _queue_tile(snapshot.health)
        + _workers_tile(snapshot.health, view)
        + _tile("Delivered · 24 h", str(delivered), "attempts that reached the person", "green", "delivered")
        + _tile("Retried · 24 h", str(retried), "transient or rate limited", _tone(retried, "amber"), "retried")
        + _tile("Failed · 24 h", str(failed), "permanent failures", _tone(failed, "red"), "failed")
        + "</section>"
    )


# --- runs -------------------------------------------------------------------------------------


def _chips(row: RunRow, view: View) -> str:
    chips = [
        f'<span class="chip tone-{TONE.get(status, "grey")}" title="{view.e(channel)}: '
        f'{esc(LABEL.get(status, status))}">{view.e(channel)}</span>'
        for channel, status in row.channels[:MAX_CHIPS]
    ]
    if len(row.channels) > MAX_CHIPS:
        chips.append(f'<span class="chip tone-grey">+{len(row.channels) - MAX_CHIPS}</span>')
    return "".join(chips) or '<span class="chip tone-grey">recorded only</span>'


def runs_list(snapshot: Snapshot, view: View) -> str:
    if not snapshot.runs:
        return (
            '<section class="card"><h2>Recent runs</h2><p class="empty">No notifications yet. '
            "What agents send with notify_send and notify_event shows up here.</p></section>"
        )
    selected = snapshot.selected.run_id if snapshot.selected else None
    rows = []
    for row in snapshot.runs:
        sel = ' class="sel" aria-current="true"' if row.run_id == selected else ""
        tickets = f"{row.tickets} ticket{'s' if row.tickets != 1 else ''}"
        rows.append(
            f'<li{sel} data-run="{view.e(row.run_id)}" data-status="{esc(row.status)}">'
            f'<span class="st">{pill(row.status)}</span>'
            f'<a class="rid" href="{view.e(view.run_href(row.run_id))}">{view.e(row.run_id)}</a>'
            f'<span class="when">{tickets} · {time_tag(row.last_activity, snapshot.now, relative=True)}</span>'
            f'<span class="title">{view.e(row.title)}</span>'
            f'<span class="chans">{_chips(row, view)}</span></li>'
        )
    return (
        f'<section class="card"><h2>Recent runs <span class="aside">{len(snapshot.runs)} most recent</span></h2>'
        f'<ol class="runs">{"".join(rows)}</ol></section>'
    )


# --- one run: tickets and delivery timelines --------------------------------------------------


def _step(node: str, wait: float | None = None) -> str:
    """One timeline item: the connector from the previous step (labelled when the wait matters) and a node.

    Connector and node share one <li>, so a wrapped timeline never leaves a dangling connector.
    """
    if wait is None:
        gap = ""
    elif wait >= LONG_WAIT:
        gap = f'<span class="gap long" title="waited {duration(wait)}">wait {duration(wait)}</span>'
    elif wait >= 1.0:
        gap = f'<span class="gap" title="waited {duration(wait)}">{duration(wait)}</span>'
    else:
        gap = f'<span class="gap short" title="waited {duration(wait)}"></span>'
    return f'<li class="step">{gap}{node}</li>'


def _node(inner: str, cls: str = "", title: str = "", data: str = "") -> str:
    tip = f' title="{title}"' if title else ""
    return f'<span class="node {cls}"{tip}{data}><span class="dot"></span>{inner}</span>'


def _attempt_node(number: int, attempt: Attempt, view: View) -> str:
    took = duration(attempt.finished_at - attempt.started_at)
    label = OUTCOME_LABEL.get(attempt.outcome, attempt.outcome)
    outcome = esc(attempt.outcome)
    return _node(
        f'<b>#{number}</b> {esc(label)} <span class="t">{took}</span>',
        f"o-{outcome}",
        view.err(attempt.error) if attempt.error else "",
        f' data-outcome="{outcome}"',
    )


def _end_step(line: DeliveryLine, previous: float, tried: bool, now: float) -> str:
    """What became of the delivery, or what happens next."""
    status = line.view.status
    if status == "delivered" and line.delivered_at is not None:
        total = duration(line.delivered_at - line.created_at)
        node = _node(f"delivered in {total}", "end tone-green", f"delivered at {iso(line.delivered_at)}")
        return _step(node, line.delivered_at - previous if tried else None)
    if status in ("delivered", "failed"):
        node = _node(f'{status} <span class="t">{time_tag(line.updated_at, now)}</span>', f"end tone-{TONE[status]}")
        return _step(node, max(0.0, line.updated_at - previous))
    if status == "retrying" and line.next_attempt_at is not None:
        soon = time_tag(line.next_attempt_at, now, relative=True)
        when = f'{time_tag(line.next_attempt_at, now)} <span class="t">{soon}</span>'
        return _step(_node(f"next try {when}", "end tone-amber"), max(0.0, line.next_attempt_at - previous))
    if status == "in_flight":
        return _step(_node("sending now", "end tone-blue"), max(0.0, line.updated_at - previous))
    if line.next_attempt_at is not None:
        node = _node(f"rate-limit pause until {time_tag(line.next_attempt_at, now)}", "end tone-grey")
        return _step(node, max(0.0, line.next_attempt_at - previous))
    node = _node(f"waiting for a worker · {duration(now - line.created_at)}", "end tone-grey")
    return _step(node, 0.0)


def timeline(line: DeliveryLine, now: float, view: View) -> str:
    """queued → attempts with the waits between them → the final outcome (or what happens next)."""
    items = [_step(_node("queued", "start", f"queued at {iso(line.created_at)}"))]
    attempts = line.attempts
    shown: list[tuple[int, Attempt] | None] = list(enumerate(attempts, 1))
    if len(attempts) > MAX_ATTEMPTS_SHOWN:
        shown = [*shown[:3], None, *shown[-3:]]
    previous = line.created_at
    for entry in shown:
        if entry is None:
            items.append(f'<li class="step more">… {len(attempts) - 6} more attempts …</li>')
            previous = attempts[-4].finished_at
            continue
        number, attempt = entry
        items.append(_step(_attempt_node(number, attempt, view), max(0.0, attempt.started_at - previous)))
        previous = attempt.finished_at
    items.append(_end_step(line, previous, bool(attempts), now))
    return f'<ol class="tl">{"".join(items)}</ol>'


def reasons(line: DeliveryLine, view: View) -> str:
    """The provider's (redacted) reasons, consecutive repeats folded: '#1–3 transient: HTTP 502'."""
    groups: list[list[Any]] = []  # [first, last, outcome, error]
    for number, attempt in enumerate(line.attempts, 1):
        if not attempt.error:
            continue
        if groups and groups[-1][1] == number - 1 and groups[-1][2:] == [attempt.outcome, attempt.error]:
            groups[-1][1] = number
        else:
            groups.append([number, number, attempt.outcome, attempt.error])
    items = []
    if len(groups) > MAX_REASONS:
        items.append(f'<li><span class="n">…</span>{len(groups) - MAX_REASONS} earlier errors not shown</li>')
    for first, last, outcome, error in groups[-MAX_REASONS:]:
        span = f"#{first}" if first == last else f"#{first}–{last}"
        label = OUTCOME_LABEL.get(outcome, outcome)
        items.append(f'<li><span class="n">{span} {esc(label)}</span>{view.err(error)}</li>')
    last_error = line.view.last_error
    shown_last = groups[-1][3] if groups else None
    if line.view.status == "failed" and last_error and last_error != shown_last:
        items.append(f'<li><span class="n">final</span>{view.err(last_error)}</li>')
    if not items:
        return ""
    tone = "red" if line.view.status == "failed" else "amber"
    return f'<ul class="why tone-{tone}">{"".join(items)}</ul>'


def sent_panel(message: Message, channel: str, view: View, *, open_: bool) -> str:
    """The message as this channel would have sent it (rebuilt from the ticket; nothing is sent)."""
    sent = as_sent(channel, message, view.env)
    if sent.note:  # it may quote a provider's or a setting's error: the second fence, as for reasons
        sent = replace(sent, note=view.scrub(sent.note))
    return panel(sent, f"{message.ticket}/{channel}", open_=open_, allow_styles=view.allow_styles)


def rule_note(line: DeliveryLine, view: View) -> str:
    """What an attention rule did with this delivery: held until, folded into, dropped, escalated."""
    d = line.view
    if not d.note:
        return ""
    until = f' <span class="until">until {view.e(d.held_until)}</span>' if d.held_until else ""
    return f'<p class="rule" data-hold="{esc(d.hold or "")}">{view.e(d.note)}{until}</p>'


def delivery_item(
    line: DeliveryLine, now: float, view: View, message: Message | None = None, *, open_: bool = False
) -> str:
    n = len(line.attempts) or line.view.attempts
    count = f"{n} attempt{'s' if n != 1 else ''}"
    sent = sent_panel(message, line.view.channel, view, open_=open_) if message is not None else ""
    return (
        f'<li class="delivery" data-channel="{view.e(line.view.channel)}" data-status="{esc(line.view.status)}">'
        f'<div class="who"><span class="chan">{view.e(line.view.channel)}</span>{pill(line.view.status)}'
        f'<span class="count">{count}</span></div>{rule_note(line, view)}'
        f"{timeline(line, now, view)}{reasons(line, view)}{sent}</li>"
    )


def ticket_card(card: TicketCard, now: float, view: View, *, preview: bool = False, newest: bool = False) -> str:
    """A ticket and its deliveries; ``preview`` adds each channel's message as sent (open when ``newest``)."""
    t = card.view
    message = message_of(card.record) if preview and card.record is not None else None
    event = f'<span class="event">{view.e(t.event)}</span>' if t.event else ""
    reason = f'<p class="reason">Recorded, not pushed: {view.e(t.reason)}</p>' if t.reason else ""
    if not card.deliveries and not t.reason:
        reason = '<p class="reason">Recorded only: no channel was asked to deliver it.</p>'
    if t.route:
        reason += f'<p class="route">Route: {view.e(t.route)}</p>'
    deliveries = "".join(delivery_item(line, now, view, message, open_=newest) for line in card.deliveries)
    body = f'<ul class="deliveries">{deliveries}</ul>' if deliveries else ""
    return (
        f'<article class="ticket" data-ticket="{view.e(t.ticket)}" data-status="{esc(t.status)}">'
        f'<header>{pill(t.status)}{event}<h3 title="ticket {view.e(t.ticket)}">{view.e(t.title)}</h3>'
        f'<span class="meta">{time_tag(card.created_at, now)}</span>'
        f"</header>{reason}{body}</article>"
    )


def run_panel(snapshot: Snapshot, view: View) -> str:
    notice = ""
    if snapshot.missing_run is not None:
        notice = (
            f'<p class="notice">No run <span class="mono">{view.e(snapshot.missing_run[:200])}</span> in the ledger '
            "(it may have been purged).</p>"
        )
    detail: RunDetail | None = snapshot.selected
    if detail is None:
        empty = '<p class="empty">Pick a run to see its delivery timelines.</p>'
        return f'<section class="card run">{notice}{empty}</section>'
    first = min(c.created_at for c in detail.tickets)
    count = len(detail.tickets)
    meta = f"{count} ticket{'s' if count != 1 else ''} · first at {time_tag(first, snapshot.now)}"
    newest = next((i for i, card in enumerate(detail.tickets) if card.deliveries), None)
    cards = "".join(
        ticket_card(card, snapshot.now, view, preview=i < MAX_PREVIEW_TICKETS, newest=i == newest)
        for i, card in enumerate(detail.tickets)
    )
    return (
        f'<section class="card run" data-run="{view.e(detail.run_id)}">{notice}'
        f'<div class="run-head"><h2>Run</h2><span class="rid">{view.e(detail.run_id)}</span>{pill(detail.status)}</div>'
        f'<div class="run-meta">{meta}</div>{cards}</section>'
    )


# --- the page ---------------------------------------------------------------------------------


def live_content(snapshot: Snapshot, view: View) -> str:
    """The part the page's script swaps in on every refresh."""
    legend = (
        '<span class="legend"><span><i class="l-delivered"></i>delivered</span>'
        '<span><i class="l-retried"></i>retried</span><span><i class="l-failed"></i>failed</span></span>'
    )
    return (
        tiles(snapshot, view)
        + f'<section class="card"><h2>Attempts per channel · last 24 hours {legend}'
        + '<span class="aside">one bar per hour</span></h2>'
        + f'<div class="chart-wrap">{render_chart(snapshot.chart, view.scrub)}</div>'
        + "</section>"
        + '<div class="split">'
        + runs_list(snapshot, view)
        + run_panel(snapshot, view)
        + "</div>"
    )


def page(snapshot: Snapshot, view: View) -> str:
    refresh = f"{view.refresh:g}"
    # Without JavaScript the page still refreshes, less often and by reloading.
    fallback = max(30, int(view.refresh * 3))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        "<title>mcp-push · deliveries</title>"
        f'<link rel="icon" href="{FAVICON}">'
        f'<style nonce="{view.nonce}">{CSS}</style>'
        f'<noscript><meta http-equiv="refresh" content="{fallback}"></noscript>'
        f'</head><body data-refresh="{refresh}">'
        '<header class="top"><div class="brand"><span class="mark"></span>'
        f'<a href="{view.e(view.base)}/">mcp-push</a><span class="sub">deliveries</span>'
        '<span class="badge">read-only</span></div>'
        f'<div class="live ok" id="live-state"><span class="pulse"></span><span id="live-text">live · every {refresh} s'
        '</span><button class="ghost" id="pause" type="button" aria-pressed="false">pause</button></div></header>'
        f'<main id="live">{live_content(snapshot, view)}</main>'
        "<footer>Read-only view of the mcp-push ledger. Errors are shown as the ledger stored them, secrets masked. "
        "Times in your time zone; hover for the exact moment.</footer>"
        f'<script nonce="{view.nonce}">{SCRIPT}</script></body></html>'
    )


def error_page(message: str, view: View) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcp-push · deliveries</title>'
        f'<style nonce="{view.nonce}">{CSS}</style></head><body>'
        '<header class="top"><div class="brand"><span class="mark"></span>mcp-push '
        '<span class="sub">deliveries</span></div></header>'
        f'<main id="live"><section class="card"><p class="notice">{view.e(message)}</p></section></main></body></html>'
    )
