"""Urgency: four levels, a default per event, and what each level means on each channel.

``low | normal | high | urgent``. An explicit ``priority`` wins; else ``MCP_PUSH_PRIORITY_<EVENT>``;
else the event's default: ``start``/``update`` low (progress, quiet), ``end`` normal, ``error``
high, ``ask`` high (someone must answer, but it is not an outage), a plain ``notify_send``
(no event) normal. ``urgent`` is never a default: only a caller or a setting asks for it.
Colours follow the event, not the level: red error, green end, blue ask, grey start/update.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)

LEVELS = ("low", "normal", "high", "urgent")
EVENT_DEFAULTS = {"start": "low", "update": "low", "end": "normal", "error": "high", "ask": "high"}
PRIORITY_EVENTS = tuple(EVENT_DEFAULTS)  # each has an MCP_PUSH_PRIORITY_<EVENT> setting
TRUE_WORDS = {"1", "true", "yes", "on"}

NTFY = {"low": 2, "normal": 3, "high": 4, "urgent": 5}
NTFY_TAGS = {
    "start": "arrow_forward",
    "update": "hourglass_flowing_sand",
    "end": "white_check_mark",
    "error": "x",
    "ask": "question",
}
PUSHOVER = {"low": -1, "normal": 0, "high": 1, "urgent": 1}  # 2 (emergency) needs retry/expire: not sent
GOTIFY = {"low": 2, "normal": 5, "high": 8, "urgent": 10}  # Android: 1-3 silent, 4-7 sound, 8-10 pop up
BARK = {"low": "passive", "normal": "active", "high": "active", "urgent": "timeSensitive"}

FEISHU_TEMPLATES = {"error": "red", "end": "green", "ask": "blue", "update": "grey", "start": "grey"}
DISCORD_COLOURS = {"error": 0xE5484D, "end": 0x30A46C, "ask": 0x0090FF, "update": 0x8B8D98, "start": 0x8B8D98}
HTML_COLOURS = {"error": "#e5484d", "end": "#30a46c", "ask": "#0090ff", "update": "#8b8d98", "start": "#8b8d98"}
NO_EVENT = "update"  # a message without an event (notify_send) is coloured like progress


def setting_name(event: str) -> str:
    return f"MCP_PUSH_PRIORITY_{event.upper()}"


def check(value: str, where: str) -> str:
    """``value`` as a level, or a ValueError that names the levels."""
    level = value.strip().lower()
    if level not in LEVELS:
        raise ValueError(f"{where}={value[:20]!r} is not a priority; use one of {', '.join(LEVELS)}")
    return level


def problems(env: Mapping[str, str]) -> list[str]:
    """What is wrong with the MCP_PUSH_PRIORITY_* settings (a start-up check can refuse them)."""
    found = []
    for event in PRIORITY_EVENTS:
        raw = env.get(setting_name(event), "").strip()
        if raw:
            try:
                check(raw, setting_name(event))
            except ValueError as exc:
                found.append(str(exc))
    return found


def resolve(priority: str | None, event: str | None, env: Mapping[str, str]) -> str:
    """The level of a message: its own, else the event's setting, else the event's default."""
    if priority:
        try:
            return check(priority, "priority")
        except ValueError:
            log.warning("ignoring unknown priority %r; using the event's", priority[:20])
    key = event or ""
    raw = env.get(setting_name(key), "").strip() if key in EVENT_DEFAULTS else ""
    if raw:
        try:
            return check(raw, setting_name(key))
        except ValueError as exc:
            log.warning("%s; using the default", exc)
    return EVENT_DEFAULTS.get(key, "normal")


def bark_level(level: str, env: Mapping[str, str]) -> str:
    """Bark's interruption level: ``critical`` (rings through silent mode) only with MCP_PUSH_CRITICAL=true."""
    if level == "urgent" and env.get("MCP_PUSH_CRITICAL", "").strip().lower() in TRUE_WORDS:
        return "critical"
    return BARK[level]


def telegram_silent(level: str) -> bool:
    """Telegram's ``disable_notification``: a low message arrives without a sound."""
    return level == "low"


def feishu_template(event: str | None) -> str:
    return FEISHU_TEMPLATES.get(event or NO_EVENT, "grey")


def discord_colour(event: str | None) -> int:
    return DISCORD_COLOURS.get(event or NO_EVENT, DISCORD_COLOURS[NO_EVENT])


def html_colour(event: str | None) -> str:
    return HTML_COLOURS.get(event or NO_EVENT, HTML_COLOURS[NO_EVENT])
