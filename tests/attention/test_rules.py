"""The attention variables: each rule parsed as written, and every bad one refused with an error
that names its variable (what a person sees once at start)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from mcp_push.attention.rules import DEFAULT_BYPASS, QuietHours, Rules, Tier, load_rules, rules_for
from mcp_push.errors import ConfigError
from tests.conftest import settings_for

CHANNELS = {
    "NTFY_TOPIC": "alerts",
    "TG_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
    "TG_USER_ID": "42",
    "TG_BOT_TOKEN_2": "654321:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
    "TG_USER_ID_2": "43",
    "BARK_PUSH": "https://api.day.app/key",
}
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def rules(**env: str) -> Rules:
    return load_rules({**CHANNELS, **env})


def refused(**env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        rules(**env)
    return str(caught.value)


def at(zone: dt.tzinfo, *when: int) -> float:
    return dt.datetime(*when, tzinfo=zone).timestamp()  # type: ignore[misc]


# --- defaults -----------------------------------------------------------------------------------


def test_nothing_set_is_every_channel_at_once_with_the_default_min_turn() -> None:
    found = load_rules({"TZ": "UTC"})
    assert found.routes == {} and found.quiet is None and found.escalation == ()
    assert found.bypass == DEFAULT_BYPASS == {"error", "ask"}
    assert (found.digest_seconds, found.stop_delay, found.min_turn) == (0, 0, 60)
    assert found.lines() == ["MCP_PUSH_MIN_TURN_SECONDS=60: shorter turns are recorded, not pushed"]


# --- routes ---------------------------------------------------------------------------------------


def test_routes_per_kind_with_instances_in_their_written_order() -> None:
    found = rules(MCP_PUSH_ROUTE_ERROR="telegram:2, Bark,telegram:2", MCP_PUSH_ROUTE_END="ntfy")
    assert found.routes == {"end": ("ntfy",), "error": ("telegram:2", "bark")}
    assert "MCP_PUSH_ROUTE_ERROR=telegram:2,bark" in found.lines()


def test_an_unknown_channel_in_a_route_names_the_variable_the_id_and_the_known_ids() -> None:
    text = refused(MCP_PUSH_ROUTE_ERROR="telegram,telegrm")
    assert "MCP_PUSH_ROUTE_ERROR" in text and "'telegrm'" in text
    assert "known channels are" in text and "ntfy" in text and "telegram:2" in text


def test_an_instance_beyond_the_last_is_unknown() -> None:
    assert "'telegram:10'" in refused(MCP_PUSH_ROUTE_END="telegram:10")


def test_a_known_but_unconfigured_channel_says_what_to_set() -> None:
    text = refused(MCP_PUSH_ROUTE_ASK="smtp")
    assert text.startswith("MCP_PUSH_ROUTE_ASK names channel 'smtp', which is not configured")
    assert "SMTP_SERVER" in text and "SMTP_PASSWORD" in text
    text = refused(MCP_PUSH_ROUTE_ASK="telegram:3")
    assert "TG_BOT_TOKEN_3" in text and "TG_USER_ID_3" in text


@pytest.mark.parametrize("value", ["", "  ", " , "])
def test_an_empty_route_is_refused_with_how_to_mean_every_channel(value: str) -> None:
    text = refused(MCP_PUSH_ROUTE_UPDATE=value)
    assert text == "empty route: unset MCP_PUSH_ROUTE_UPDATE to send update notifications to every channel"


def test_a_route_for_a_kind_that_does_not_exist_is_refused() -> None:
    text = refused(MCP_PUSH_ROUTE_FINISHED="ntfy")
    assert text.startswith("MCP_PUSH_ROUTE_FINISHED is not a rule") and "MCP_PUSH_ROUTE_SEND" in text


# --- quiet hours -----------------------------------------------------------------------------------


def test_quiet_hours_in_a_named_zone() -> None:
    found = rules(MCP_PUSH_QUIET="22:00-8:00", MCP_PUSH_TZ="Europe/Berlin")
    assert found.quiet is not None
    assert (found.quiet.start, found.quiet.end, found.quiet.text) == (dt.time(22), dt.time(8), "22:00-08:00")
    assert found.quiet.zone == BERLIN and found.quiet.zone_name == found.zone_name == "Europe/Berlin"
    assert any(line.startswith("MCP_PUSH_QUIET=22:00-08:00 (Europe/Berlin)") for line in found.lines())


@pytest.mark.parametrize("value", ["22-08", "22:00", "22:00-24:00", "25:00-08:00", "22:60-08:00", "ten-eight"])
def test_an_unparsable_window_names_the_variable_and_the_format(value: str) -> None:
    text = refused(MCP_PUSH_QUIET=value)
    assert text.startswith("MCP_PUSH_QUIET=") and "HH:MM-HH:MM" in text


def test_a_window_that_starts_where_it_ends_is_refused() -> None:
    assert "starts and ends at the same time" in refused(MCP_PUSH_QUIET="08:00-08:00")


def test_an_unknown_zone_is_refused() -> None:
    text = refused(MCP_PUSH_TZ="Europe/Atlantis")
    assert text.startswith("MCP_PUSH_TZ='Europe/Atlantis'") and "IANA" in text
    assert refused(MCP_PUSH_TZ="../../etc/passwd").startswith("MCP_PUSH_TZ=")


def test_without_mcp_push_tz_the_system_zone_of_tz_is_used() -> None:
    found = load_rules({"TZ": "America/New_York", "MCP_PUSH_QUIET": "22:00-07:00"})
    assert found.zone_name == "America/New_York" and found.quiet is not None
    assert found.quiet.zone == zoneinfo.ZoneInfo("America/New_York")


def test_bypass_takes_kinds_or_none() -> None:
    assert rules(MCP_PUSH_QUIET_BYPASS="error, END").bypass == {"error", "end"}
    assert rules(MCP_PUSH_QUIET_BYPASS="none").bypass == frozenset()
    text = refused(MCP_PUSH_QUIET_BYPASS="error,urgent")
    assert text.startswith("MCP_PUSH_QUIET_BYPASS names 'urgent'") and "always go through" in text


# --- quiet windows on the zone's wall clock ---------------------------------------------------------


def quiet(text: str, zone: dt.tzinfo = BERLIN) -> QuietHours:
    found = rules(MCP_PUSH_QUIET=text, MCP_PUSH_TZ=str(zone)).quiet
    assert found is not None
    return found


def test_a_window_that_wraps_midnight() -> None:
    night = quiet("22:00-08:00")
    assert night.window_end(at(BERLIN, 2026, 7, 1, 21, 59)) is None
    assert night.window_end(at(BERLIN, 2026, 7, 1, 22, 0)) == at(BERLIN, 2026, 7, 2, 8, 0)
    assert night.window_end(at(BERLIN, 2026, 7, 1, 23, 30)) == at(BERLIN, 2026, 7, 2, 8, 0)
    assert night.window_end(at(BERLIN, 2026, 7, 2, 3, 0)) == at(BERLIN, 2026, 7, 2, 8, 0)
    assert night.window_end(at(BERLIN, 2026, 7, 2, 8, 0)) is None
    assert night.window_end(at(BERLIN, 2026, 7, 2, 12, 0)) is None


def test_a_window_within_one_day() -> None:
    lunch = quiet("12:00-13:30")
    assert lunch.window_end(at(BERLIN, 2026, 7, 1, 11, 59)) is None
    assert lunch.window_end(at(BERLIN, 2026, 7, 1, 12, 45)) == at(BERLIN, 2026, 7, 1, 13, 30)
    assert lunch.window_end(at(BERLIN, 2026, 7, 1, 13, 30)) is None


def test_a_night_with_a_change_of_summer_time_ends_at_its_written_hour() -> None:
    night = quiet("22:00-08:00")
    spring = at(BERLIN, 2026, 3, 28, 23, 0)  # clocks go 02:00 -> 03:00 on 29 March 2026
    end = night.window_end(spring)
    assert end == at(BERLIN, 2026, 3, 29, 8, 0)
    assert end is not None and end - at(BERLIN, 2026, 3, 28, 22, 0) == 9 * 3600  # one hour shorter
    autumn = at(BERLIN, 2026, 10, 25, 2, 30)  # clocks go 03:00 -> 02:00 on 25 October 2026
    end = night.window_end(autumn)
    assert end == at(BERLIN, 2026, 10, 25, 8, 0)
    assert end is not None and end - at(BERLIN, 2026, 10, 24, 22, 0) == 11 * 3600
    assert night.until_text(end) == "08:00 Europe/Berlin"


def test_the_window_is_read_in_its_zone_not_the_processes() -> None:
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    night = quiet("22:00-06:00", tokyo)
    now = at(tokyo, 2026, 1, 10, 23, 0)  # 15:00 in Berlin: inside in Tokyo
    assert night.window_end(now) == at(tokyo, 2026, 1, 11, 6, 0)


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("var", ["MCP_PUSH_DIGEST_SECONDS", "MCP_PUSH_STOP_DELAY", "MCP_PUSH_MIN_TURN_SECONDS"])
@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_seconds_must_be_a_finite_non_negative_number(var: str, value: str) -> None:
    text = refused(**{var: value})
    assert text.startswith(f"{var}=") and "0 turns it off" in text


def test_seconds_are_read_and_zero_turns_min_turn_off() -> None:
    found = rules(MCP_PUSH_DIGEST_SECONDS="300", MCP_PUSH_STOP_DELAY=" 45 ", MCP_PUSH_MIN_TURN_SECONDS="0")
    assert (found.digest_seconds, found.stop_delay, found.min_turn) == (300, 45, 0)
    lines = found.lines()
    assert any(line.startswith("MCP_PUSH_DIGEST_SECONDS=300") for line in lines)
    assert any(line.startswith("MCP_PUSH_STOP_DELAY=45") for line in lines)
    assert not any("MIN_TURN" in line for line in lines)


# --- escalation ---------------------------------------------------------------------------------------------


def test_escalation_tiers_with_increasing_delays() -> None:
    found = rules(MCP_PUSH_ASK_ESCALATE="telegram; ntfy,telegram:2 @120; bark @600")
    assert found.escalation == (
        Tier(("telegram",), 0),
        Tier(("ntfy", "telegram:2"), 120),
        Tier(("bark",), 600),
    )
    assert "MCP_PUSH_ASK_ESCALATE: telegram; ntfy,telegram:2 @120; bark @600" in found.lines()
    assert rules(MCP_PUSH_ASK_ESCALATE="telegram @0; ntfy @1.5").escalation[1].delay == 1.5


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "is empty"),
        ("telegram;; ntfy @60", "tier 2 is empty"),
        ("telegram; @60", "tier 2 is empty"),
        ("telegram; ntfy @soon", "@'soon' is not a number"),
        ("telegram; ntfy @-5", "is not a number"),
        ("telegram; ntfy", "tier 2 has no delay"),
        ("telegram @30; ntfy @60", "tier 1 goes out at once"),
        ("telegram; ntfy @600; bark @120", "tier 3 comes @120 s, not later than tier 2"),
        ("telegram; ntfy @60; bark @60", "not later than tier 2"),
        ("telegram; ntfy,telegram @60", "'telegram' is in tier 1 and tier 2"),
        ("telegram; pigeon @60", "tier 2 names unknown channel 'pigeon'"),
        ("telegram; pushover @60", "tier 2 names channel 'pushover', which is not configured: set PUSHOVER_TOKEN"),
    ],
)
def test_a_bad_escalation_names_the_variable_and_what_is_wrong(value: str, words: str) -> None:
    text = refused(MCP_PUSH_ASK_ESCALATE=value)
    assert text.startswith("MCP_PUSH_ASK_ESCALATE") and words in text, text


def test_an_ask_route_and_an_escalation_together_are_refused() -> None:
    text = refused(MCP_PUSH_ASK_ESCALATE="telegram; ntfy @60", MCP_PUSH_ROUTE_ASK="ntfy")
    assert "MCP_PUSH_ROUTE_ASK and MCP_PUSH_ASK_ESCALATE both say where asks go" in text and "unset" in text


# --- once per settings ------------------------------------------------------------------------------------------


def test_rules_are_parsed_once_per_settings(tmp_path) -> None:
    settings = settings_for(tmp_path / "home", {**CHANNELS, "MCP_PUSH_ROUTE_END": "ntfy"})
    first = rules_for(settings)
    assert first.routes == {"end": ("ntfy",)} and rules_for(settings) is first
    other = settings_for(tmp_path / "other", {**CHANNELS, "MCP_PUSH_ROUTE_END": "bark"})
    assert rules_for(other).routes == {"end": ("bark",)}
    with pytest.raises(ConfigError, match="MCP_PUSH_QUIET"):
        rules_for(settings_for(tmp_path / "bad", {"MCP_PUSH_QUIET": "late"}))
