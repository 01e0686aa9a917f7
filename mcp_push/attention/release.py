"""Releasing what the attention rules held, when its time comes (any worker's maintenance loop).

Every step is a conditional move in the ledger (``Ledger.release_held``/``drop_held``/
``fold_held`` touch a delivery only while it is still held), so two workers releasing at once
send each digest once and no held push twice. What a due hold becomes:

- ``quiet``: at the end of quiet hours each channel gets one digest ticket ("🌙 4
  notifications while you were away"), its lines the held notifications' time, title, kind and
  source line; the held deliveries are settled ``folded`` into it. A lone one is sent as itself,
  and so is a held ask (its buttons must reach the person).
- ``digest``: a run's held ``start``/``update`` events on one channel are folded into one
  message when the first of them is due (at most one per MCP_PUSH_DIGEST_SECONDS).
- ``stop``: the person did not come back within MCP_PUSH_STOP_DELAY: sent.
- ``escalate``: sent if the ask is still waiting, else dropped.

``release_due`` returns the delivery ids that became pending; the caller enqueues them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar

from mcp_push.attention.rules import DIGEST, QUIET, STOP_DELAY, Rules
from mcp_push.config import ASK_EVENT
from mcp_push.storage.base import HeldDelivery, Ledger, NewTicket
from mcp_push.views import ASK_WAITING, HOLD_DIGEST, HOLD_ESCALATE, HOLD_QUIET, HOLD_STOP

log = logging.getLogger(__name__)

DIGEST_LINE = 240  # characters of one folded notification's line in a digest
K = TypeVar("K")
QUIET_ROUTE = f"{QUIET} digest"
PROGRESS_ROUTE = f"{DIGEST} digest"


def release_due(ledger: Ledger, rules: Rules, now: float, new_ticket: str | None = None) -> list[int]:
    """Release every hold due at ``now``; return the ids now pending (digests' deliveries too).

    ``new_ticket``: the ticket id a digest gets (tests pass one; else a fresh one per digest)."""
    due = ledger.held(due_by=now)
    if not due:
        return []
    by_hold: dict[str, list[HeldDelivery]] = defaultdict(list)
    for item in due:
        by_hold[item.delivery.hold or ""].append(item)
    pending: list[int] = []
    pending += _quiet(ledger, rules, by_hold.pop(HOLD_QUIET, []), now, new_ticket)
    pending += _progress(ledger, rules, by_hold.pop(HOLD_DIGEST, []), now, new_ticket)
    stops = [item.delivery.id for item in by_hold.pop(HOLD_STOP, [])]
    if stops:
        at = rules.clock(now, seconds=True)
        note = f"sent at {at}: nobody came back within {rules.stop_delay:g} s ({STOP_DELAY})"
        pending += ledger.release_held(stops, note, now)
    pending += _escalate(ledger, rules, by_hold.pop(HOLD_ESCALATE, []), now)
    for hold, items in by_hold.items():  # a hold this version does not know (a newer writer): send it
        pending += ledger.release_held([i.delivery.id for i in items], f"released: unknown hold {hold!r}", now)
    if pending:
        log.info("released %d held deliveries", len(pending))
    return sorted(pending)


def _quiet(ledger: Ledger, rules: Rules, items: list[HeldDelivery], now: float, ticket: str | None) -> list[int]:
    """One digest per channel of what quiet hours held; a lone notification goes as itself."""
    pending: list[int] = []
    at = rules.clock(now)
    asks = [i.delivery.id for i in items if i.event == ASK_EVENT]  # its buttons must stay: never a digest line
    if asks:
        pending += ledger.release_held(asks, f"sent at {at}, the end of quiet hours", now)
    for channel, group in _by([i for i in items if i.event != ASK_EVENT], lambda i: i.delivery.channel).items():
        if len(group) == 1:
            pending += ledger.release_held([group[0].delivery.id], f"sent at {at}, the end of quiet hours", now)
            continue
        count = len(group)
        title = f"🌙 {count} notifications while you were away"
        lines = [_line(rules, item, with_source=True) for item in group]
        digest = _digest(ticket, f"digest-{_stamp(rules, now)}", title, "\n".join(lines), now, channel, QUIET_ROUTE)
        pending += _fold(ledger, group, digest, f"folded into the quiet-hours digest {digest.ticket} ({at})")
    return pending


def _progress(ledger: Ledger, rules: Rules, items: list[HeldDelivery], now: float, ticket: str | None) -> list[int]:
    """A run's progress on one channel, due: fold it with the run's later held progress there."""
    pending: list[int] = []
    groups = _by(items, lambda i: (i.run_id, i.delivery.channel))
    for run_id, channel in groups:
        group = [i for i in ledger.held(run_id=run_id, hold=HOLD_DIGEST) if i.delivery.channel == channel]
        if not group:
            continue  # another worker took them
        if len(group) == 1:
            pending += ledger.release_held([group[0].delivery.id], "sent alone: no other progress to fold with", now)
            continue
        latest = group[-1]
        title = f"⏳ {len(group)} updates · {latest.title}"
        lines = [_line(rules, item, with_source=False) for item in group]
        digest = _digest(ticket, run_id, title, "\n".join(lines), now, channel, PROGRESS_ROUTE, latest)
        at = rules.clock(now, seconds=True)
        pending += _fold(ledger, group, digest, f"folded into the progress digest {digest.ticket} ({at})")
    return pending


def _escalate(ledger: Ledger, rules: Rules, items: list[HeldDelivery], now: float) -> list[int]:
    """A later tier, due: sent while its ask waits; dropped once it has ended."""
    pending: list[int] = []
    at = rules.clock(now, seconds=True)
    for item in items:
        ask = ledger.get_ask(item.delivery.ticket)
        if ask is not None and ask.status == ASK_WAITING:
            note = f"escalated at {at}: the ask was still unanswered"
            pending += ledger.release_held([item.delivery.id], note, now)
        else:
            status = ask.status if ask is not None else "gone"
            ledger.drop_held([item.delivery.id], f"not sent: the ask was {status} before this tier was due", now)
    return pending


def _fold(ledger: Ledger, group: list[HeldDelivery], digest: NewTicket, note: str) -> list[int]:
    record = ledger.fold_held([i.delivery.id for i in group], digest, note)
    if record is None:  # another worker folded or released one of them first
        return []
    return [d.id for d in record.deliveries]


def _digest(
    ticket: str | None,
    run_id: str,
    title: str,
    content: str,
    now: float,
    channel: str,
    route: str,
    like: HeldDelivery | None = None,
) -> NewTicket:
    """The digest's ticket: one pending delivery, no hold (it is what the rule releases)."""
    from mcp_push.notifier import new_ticket

    return NewTicket(
        ticket or new_ticket(),
        run_id,
        title,
        content,
        now,
        (channel,),
        None,
        None,
        None,
        None,
        format="text",
        priority=like.priority if like else None,
        url=like.url if like else None,
        source=like.source if like else None,
        route=route,
    )


def _line(rules: Rules, item: HeldDelivery, *, with_source: bool) -> str:
    """One folded notification: when, what, which kind, from where."""
    first = item.content.strip().splitlines()[0] if item.content.strip() else ""
    what = item.title if not first or first in item.title else f"{item.title}: {first}"
    parts = [rules.clock(item.created_at, seconds=not with_source), what, item.event or "notice"]
    if with_source and item.source:
        parts.append(item.source)
    line = " · ".join(parts)
    return "- " + (line if len(line) <= DIGEST_LINE else line[: DIGEST_LINE - 1] + "…")


def _stamp(rules: Rules, now: float) -> str:
    """The quiet digest's run id suffix: the local minute it was made (``20261202-0800``)."""
    return dt.datetime.fromtimestamp(now, rules.zone).strftime("%Y%m%d-%H%M")


def _by(items: Iterable[HeldDelivery], key: Callable[[HeldDelivery], K]) -> dict[K, list[HeldDelivery]]:
    groups: dict[K, list[HeldDelivery]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return dict(groups)
