"""Priority levels: event defaults, MCP_PUSH_PRIORITY_<EVENT>, and each channel's own scale."""

from __future__ import annotations

import pytest

from mcp_push.config import SETTINGS
from mcp_push.render import priority as p


@pytest.mark.parametrize(
    ("event", "level"), [("start", "low"), ("update", "low"), ("end", "normal"), ("error", "high"), ("ask", "high")]
)
def test_event_defaults(event: str, level: str) -> None:
    assert p.resolve(None, event, {}) == level


def test_no_event_is_normal_and_explicit_wins() -> None:
    assert p.resolve(None, None, {}) == "normal"
    assert p.resolve("urgent", "update", {"MCP_PUSH_PRIORITY_UPDATE": "low"}) == "urgent"


def test_setting_overrides_the_default_and_a_bad_one_falls_back(caplog) -> None:
    assert p.resolve(None, "end", {"MCP_PUSH_PRIORITY_END": " High "}) == "high"
    assert p.resolve(None, "end", {"MCP_PUSH_PRIORITY_END": "loud"}) == "normal"
    assert "MCP_PUSH_PRIORITY_END" in caplog.text
    assert p.resolve("shouting", "error", {}) == "high"
    assert p.problems({"MCP_PUSH_PRIORITY_END": "loud", "MCP_PUSH_PRIORITY_ERROR": "urgent"}) == [
        "MCP_PUSH_PRIORITY_END='loud' is not a priority; use one of low, normal, high, urgent"
    ]


def test_channel_scales() -> None:
    assert [p.NTFY[level] for level in p.LEVELS] == [2, 3, 4, 5]
    assert [p.PUSHOVER[level] for level in p.LEVELS] == [-1, 0, 1, 1]
    assert [p.GOTIFY[level] for level in p.LEVELS] == [2, 5, 8, 10]
    assert [p.bark_level(level, {}) for level in p.LEVELS] == ["passive", "active", "active", "timeSensitive"]
    assert p.bark_level("urgent", {"MCP_PUSH_CRITICAL": "true"}) == "critical"
    assert p.bark_level("high", {"MCP_PUSH_CRITICAL": "true"}) == "active"
    assert [p.telegram_silent(level) for level in p.LEVELS] == [True, False, False, False]
    assert set(p.NTFY_TAGS) == set(p.EVENT_DEFAULTS)


def test_colours_by_event() -> None:
    assert [p.feishu_template(e) for e in ("error", "end", "ask", "update", "start", None)] == [
        "red",
        "green",
        "blue",
        "grey",
        "grey",
        "grey",
    ]
    assert p.discord_colour("error") != p.discord_colour("end") != p.discord_colour("ask")
    assert all(0 <= p.discord_colour(e) <= 0xFFFFFF for e in (*p.EVENT_DEFAULTS, None))


def test_the_settings_table_declares_each_event_default() -> None:
    shown = {knob.var: knob.shown for knob in SETTINGS}
    for event, level in p.EVENT_DEFAULTS.items():
        assert shown[p.setting_name(event)] == f"`{level}`"
    assert "MCP_PUSH_CRITICAL" in shown and "MCP_PUSH_SOURCE" in shown
