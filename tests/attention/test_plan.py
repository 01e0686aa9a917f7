"""plan(): one notification's channels, route and holds, on an injected clock (``now``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from mcp_push.attention.plan import FINISHED, IDLE, ROUTE_ARGUMENT, ROUTE_EVERY, plan
from mcp_push.attention.rules import Rules, load_rules
from mcp_push.storage.base import Hold
from mcp_push.views import HOLD_DIGEST, HOLD_ESCALATE, HOLD_QUIET, HOLD_STOP
from tests.attention.test_rules import CHANNELS

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ENABLED = ("ntfy", "telegram", "telegram:2", "bark")
NIGHT = dt.datetime(2026, 7, 1, 23, 30, tzinfo=BERLIN).timestamp()
MORNING = dt.datetime(2026, 7, 2, 8, 0, tzinfo=BERLIN).timestamp()
NOON = dt.datetime(2026, 7, 2, 12, 0, tzinfo=BERLIN).timestamp()


def rules(**env: str) -> Rules:
    return load_rules({**CHANNELS, "MCP_PUSH_TZ": "Europe/Berlin", **env})


def decide(found: Rules, kind: str = "end", level: str = "normal", now: float = NOON, **extra):  # type: ignore[no-untyped-def]
    return plan(
        found, kind=kind, level=level, requested=extra.pop("requested", None), enabled=ENABLED, now=now, **extra
    )


# --- routes ---------------------------------------------------------------------------------------------


def test_without_rules_every_enabled_channel_at_once() -> None:
    got = decide(rules())
    assert (got.channels, got.route, got.holds, got.reason) == (ENABLED, ROUTE_EVERY, {}, None)


def test_a_kinds_route_and_the_callers_channels_winning_over_it() -> None:
    found = rules(MCP_PUSH_ROUTE_ERROR="telegram:2", MCP_PUSH_ROUTE_SEND="ntfy,bark")
    assert (decide(found, "error").channels, decide(found, "error").route) == (("telegram:2",), "MCP_PUSH_ROUTE_ERROR")
    assert decide(found, "send").channels == ("ntfy", "bark") and decide(found, "send").route == "MCP_PUSH_ROUTE_SEND"
    assert decide(found, "end").route == ROUTE_EVERY  # no route for end
    own = decide(found, "error", requested=["bark"])
    assert (own.channels, own.route) == (("bark",), ROUTE_ARGUMENT)


# --- quiet hours -------------------------------------------------------------------------------------------


def test_quiet_hours_hold_every_channel_until_the_window_ends() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00")
    got = decide(found, "end", now=NIGHT)
    note = "held for quiet hours until 08:00 Europe/Berlin (MCP_PUSH_QUIET=22:00-08:00)"
    assert got.holds == {cid: Hold(HOLD_QUIET, MORNING, note) for cid in ENABLED}
    assert decide(found, "end", now=NOON).holds == {}  # outside the window
    assert decide(found, "send", now=NIGHT).holds["ntfy"].kind == HOLD_QUIET


@pytest.mark.parametrize("kind", ["error", "ask"])
def test_errors_and_asks_go_through_by_default(kind: str) -> None:
    assert decide(rules(MCP_PUSH_QUIET="22:00-08:00"), kind, level="high", now=NIGHT).holds == {}


def test_the_bypass_list_replaces_the_default() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00", MCP_PUSH_QUIET_BYPASS="end")
    assert decide(found, "end", now=NIGHT).holds == {}
    assert decide(found, "error", level="high", now=NIGHT).holds["ntfy"].kind == HOLD_QUIET


def test_an_urgent_message_goes_through_quiet_hours() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00", MCP_PUSH_QUIET_BYPASS="none")
    assert decide(found, "send", level="urgent", now=NIGHT).holds == {}
    assert decide(found, "send", level="high", now=NIGHT).holds != {}


def test_quiet_on_the_night_summer_time_starts_ends_at_eight_local() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00")
    late = dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN).timestamp()  # 02:00 becomes 03:00 tonight
    (hold,) = set(decide(found, "end", now=late).holds.values())
    assert hold.until == dt.datetime(2026, 3, 29, 8, 0, tzinfo=BERLIN).timestamp()
    assert hold.until - late == 5.5 * 3600  # 01:30 -> 08:00 is six and a half hours on the clock, one skipped


def test_quiet_wins_over_the_stop_delay_and_the_digest() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00", MCP_PUSH_STOP_DELAY="45", MCP_PUSH_DIGEST_SECONDS="300")
    assert decide(found, "end", now=NIGHT, stop=FINISHED).holds["ntfy"].kind == HOLD_QUIET
    assert decide(found, "update", level="low", now=NIGHT).holds["ntfy"].kind == HOLD_QUIET
    assert decide(found, "end", now=NOON, stop=FINISHED).holds["ntfy"].kind == HOLD_STOP


# --- digest, stop delay, min turn ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["start", "update"])
def test_progress_is_held_for_the_digest(kind: str) -> None:
    got = decide(rules(MCP_PUSH_DIGEST_SECONDS="300"), kind, level="low")
    (hold,) = set(got.holds.values())
    assert (hold.kind, hold.until) == (HOLD_DIGEST, NOON + 300) and set(got.holds) == set(ENABLED)
    assert "folded with this run's other progress every 300 s" in hold.note and "12:05:00" in hold.note


def test_the_digest_leaves_other_kinds_alone() -> None:
    found = rules(MCP_PUSH_DIGEST_SECONDS="300")
    assert all(decide(found, kind).holds == {} for kind in ("send", "end", "error", "ask"))


@pytest.mark.parametrize("stop", [FINISHED, IDLE])
def test_a_stop_or_idle_prompt_is_held_for_the_stop_delay(stop: str) -> None:
    got = decide(rules(MCP_PUSH_STOP_DELAY="45"), "end" if stop == FINISHED else "send", stop=stop)
    note = "held 45 s: dropped if you are back at the keyboard (MCP_PUSH_STOP_DELAY)"
    assert got.holds == {cid: Hold(HOLD_STOP, NOON + 45, note) for cid in ENABLED}


def test_no_stop_delay_for_other_end_events() -> None:
    assert decide(rules(MCP_PUSH_STOP_DELAY="45"), "end").holds == {}


def test_a_short_turn_is_recorded_not_pushed() -> None:
    got = decide(rules(), "end", stop=FINISHED, turn_started=NOON - 12.4)
    assert got.channels == () and got.holds == {}
    assert got.reason == "the turn lasted 12 s, less than MCP_PUSH_MIN_TURN_SECONDS=60: recorded, not pushed"


def test_long_turns_unknown_turns_idle_prompts_and_min_turn_off_are_pushed() -> None:
    assert decide(rules(), "end", stop=FINISHED, turn_started=NOON - 60).channels == ENABLED
    assert decide(rules(), "end", stop=FINISHED, turn_started=None).channels == ENABLED  # no prompt recorded
    assert decide(rules(), "send", stop=IDLE, turn_started=NOON - 1).channels == ENABLED
    off = rules(MCP_PUSH_MIN_TURN_SECONDS="0")
    assert decide(off, "end", stop=FINISHED, turn_started=NOON - 1).channels == ENABLED
    longer = rules(MCP_PUSH_MIN_TURN_SECONDS="120")
    assert "MCP_PUSH_MIN_TURN_SECONDS=120" in (
        decide(longer, "end", stop=FINISHED, turn_started=NOON - 90).reason or ""
    )


# --- escalation -------------------------------------------------------------------------------------------------


ESCALATE = "telegram; ntfy,telegram:2 @120; bark @600"


def test_an_ask_goes_to_every_tier_with_the_later_ones_held() -> None:
    got = decide(rules(MCP_PUSH_ASK_ESCALATE=ESCALATE), "ask", level="high")
    assert got.channels == ("telegram", "ntfy", "telegram:2", "bark")
    assert got.route == "MCP_PUSH_ASK_ESCALATE tier 1..3"
    assert "telegram" not in got.holds
    assert got.holds["ntfy"] == got.holds["telegram:2"]
    assert (got.holds["ntfy"].kind, got.holds["ntfy"].until) == (HOLD_ESCALATE, NOON + 120)
    assert got.holds["ntfy"].note.startswith("escalation tier 2: sent at 12:02 if the ask is still unanswered")
    assert (got.holds["bark"].until, got.holds["bark"].note[:32]) == (NOON + 600, "escalation tier 3: sent at 12:10")


def test_an_ask_with_its_own_channels_and_other_kinds_are_not_escalated() -> None:
    found = rules(MCP_PUSH_ASK_ESCALATE=ESCALATE)
    own = decide(found, "ask", level="high", requested=["bark"])
    assert (own.channels, own.route, own.holds) == (("bark",), ROUTE_ARGUMENT, {})
    assert decide(found, "error").channels == ENABLED


def test_an_escalated_ask_in_quiet_hours_when_asks_do_not_go_through() -> None:
    found = rules(MCP_PUSH_ASK_ESCALATE=ESCALATE, MCP_PUSH_QUIET="22:00-08:00", MCP_PUSH_QUIET_BYPASS="error")
    got = decide(found, "ask", level="high", now=NIGHT)
    assert (got.holds["telegram"].kind, got.holds["telegram"].until) == (HOLD_QUIET, MORNING)
    assert (got.holds["ntfy"].kind, got.holds["ntfy"].until) == (HOLD_ESCALATE, MORNING)  # still an escalation
    assert "sent at 08:00 (after quiet hours)" in got.holds["ntfy"].note
    default = decide(rules(MCP_PUSH_ASK_ESCALATE=ESCALATE, MCP_PUSH_QUIET="22:00-08:00"), "ask", now=NIGHT)
    assert "telegram" not in default.holds and default.holds["ntfy"].until == NIGHT + 120  # asks go through
