"""What the attention rules decide for one new notification: where it goes, and what waits.

A pure function of the rules, the notification and the clock (``now`` is given, never read),
so every rule is unit-tested on an injected clock; the Notifier writes the answer into the
ledger (``NewTicket.route``/``holds``/``reason``), where any worker's maintenance releases it.

Which hold wins when several apply: quiet hours (the person asked for silence), then the stop
delay, then the progress digest. A later escalation tier stays an escalation (sent only if the ask
is still unanswered), held until its delay or the end of quiet hours, whichever is later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mcp_push.attention.rules import DIGEST, ESCALATE, MIN_TURN, QUIET, STOP_DELAY, Rules, route_var
from mcp_push.storage.base import Hold
from mcp_push.views import HOLD_DIGEST, HOLD_ESCALATE, HOLD_QUIET, HOLD_STOP

URGENT = "urgent"
SEND = "send"  # the kind of a notification without an event (notify_send, a hook's plain notice)
PROGRESS = ("start", "update")  # the kinds MCP_PUSH_DIGEST_SECONDS folds
FINISHED = "finished"  # a hook's turn end (Claude Code Stop, Codex turn complete / Stop, Gemini AfterAgent)
IDLE = "idle"  # Claude Code's idle_prompt
STOPS = (FINISHED, IDLE)  # what MCP_PUSH_STOP_DELAY holds
ROUTE_ARGUMENT = "channels argument"
ROUTE_EVERY = "every enabled channel"


@dataclass(frozen=True)
class Plan:
    """The decision: ``channels`` to write deliveries for (empty: recorded with ``reason``), how
    they were chosen (``route``), and the ones written held (``holds``, channel id -> Hold)."""

    channels: tuple[str, ...]
    route: str
    holds: dict[str, Hold] = field(default_factory=dict)
    reason: str | None = None


def plan(
    rules: Rules,
    *,
    kind: str,
    level: str,
    requested: Sequence[str] | None,
    enabled: Sequence[str],
    now: float,
    stop: str | None = None,
    turn_started: float | None = None,
) -> Plan:
    """Decide for one notification.

    ``kind``: ``send`` (no event) or the event (start, update, end, error, ask); ``level`` its
    resolved priority; ``requested`` the caller's own channels (they win, and are not escalated);
    ``enabled`` every enabled channel (the default route); ``stop``: ``finished`` or ``idle`` for a
    hook's turn end or idle prompt, else None; ``turn_started``: when the run's turn began (the
    person's last prompt), None if no prompt was recorded.
    """
    channels, route, tiers = _route(rules, kind, requested, enabled)
    reason = _short_turn(rules, stop, turn_started, now)
    if reason is not None:
        return Plan((), route, {}, reason)
    uniform = _uniform_hold(rules, kind, level, stop, now)
    holds = {}
    for cid in channels:
        number, delay = tiers.get(cid, (1, 0.0))
        if number > 1:
            holds[cid] = _tier_hold(rules, number, now + delay, uniform)
        elif uniform is not None:
            holds[cid] = uniform
    return Plan(channels, route, holds)


def _route(
    rules: Rules, kind: str, requested: Sequence[str] | None, enabled: Sequence[str]
) -> tuple[tuple[str, ...], str, dict[str, tuple[int, float]]]:
    """The channels, the route's text and, for an escalated ask, each channel's (tier, delay)."""
    if requested is not None:
        return tuple(requested), ROUTE_ARGUMENT, {}
    if kind == "ask" and rules.escalation:
        levels = rules.escalation
        tiers = {cid: (number, tier.delay) for number, tier in enumerate(levels, 1) for cid in tier.channels}
        route = f"{ESCALATE} tier 1" if len(levels) == 1 else f"{ESCALATE} tier 1..{len(levels)}"
        return tuple(tiers), route, tiers
    if kind in rules.routes:
        return tuple(rules.routes[kind]), route_var(kind), {}
    return tuple(enabled), ROUTE_EVERY, {}


def _tier_hold(rules: Rules, number: int, at: float, uniform: Hold | None) -> Hold:
    """A later escalation tier: sent at its delay if the ask is still unanswered; under quiet
    hours not before they end (it stays an escalation, not part of the quiet digest)."""
    after = ""
    if uniform is not None and uniform.kind == HOLD_QUIET and uniform.until > at:
        at, after = uniform.until, " (after quiet hours)"
    note = f"escalation tier {number}: sent at {rules.clock(at)}{after} if the ask is still unanswered ({ESCALATE})"
    return Hold(HOLD_ESCALATE, at, note)


def _short_turn(rules: Rules, stop: str | None, turn_started: float | None, now: float) -> str | None:
    """MCP_PUSH_MIN_TURN_SECONDS: a finished turn shorter than that is recorded, not pushed."""
    if stop != FINISHED or not rules.min_turn or turn_started is None:
        return None
    lasted = max(0.0, now - turn_started)
    if lasted >= rules.min_turn:
        return None
    return f"the turn lasted {lasted:.0f} s, less than {MIN_TURN}={rules.min_turn:g}: recorded, not pushed"


def _uniform_hold(rules: Rules, kind: str, level: str, stop: str | None, now: float) -> Hold | None:
    """The hold every channel of this notification gets, if any: quiet, else stop, else digest."""
    if rules.quiet is not None and kind not in rules.bypass and level != URGENT:
        end = rules.quiet.window_end(now)
        if end is not None:
            note = f"held for quiet hours until {rules.quiet.until_text(end)} ({QUIET}={rules.quiet.text})"
            return Hold(HOLD_QUIET, end, note)
    if stop in STOPS and rules.stop_delay:
        delay = rules.stop_delay
        return Hold(HOLD_STOP, now + delay, f"held {delay:g} s: dropped if you are back at the keyboard ({STOP_DELAY})")
    if kind in PROGRESS and rules.digest_seconds:
        every = rules.digest_seconds
        until = rules.clock(now + every, seconds=True)
        note = f"held until {until}: folded with this run's other progress every {every:g} s ({DIGEST})"
        return Hold(HOLD_DIGEST, now + every, note)
    return None
