"""The attention variables, parsed once and checked: a bad rule is one ConfigError naming it.

Read from the settings' environment (the process environment over config.sh) by name, like the
other knobs without a ``Settings`` field; ``rules_for`` parses them once per ``Settings``. The
channel registry is imported only when a route or a tier names channels: ``mcp-push hook`` runs
on every agent event and most people set no route.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mcp_push.errors import ConfigError

if TYPE_CHECKING:
    from mcp_push.config import Settings

KINDS = ("send", "start", "update", "end", "error", "ask")  # MCP_PUSH_ROUTE_<KIND>; send: no event
DEFAULT_BYPASS = frozenset({"error", "ask"})
ROUTE_PREFIX = "MCP_PUSH_ROUTE_"
QUIET = "MCP_PUSH_QUIET"
TZ = "MCP_PUSH_TZ"
BYPASS = "MCP_PUSH_QUIET_BYPASS"
DIGEST = "MCP_PUSH_DIGEST_SECONDS"
STOP_DELAY = "MCP_PUSH_STOP_DELAY"
MIN_TURN = "MCP_PUSH_MIN_TURN_SECONDS"
ESCALATE = "MCP_PUSH_ASK_ESCALATE"
DEFAULT_MIN_TURN = 60.0
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DELAY = re.compile(r"^(.*?)@\s*(\S*)\s*$", re.DOTALL)


def route_var(kind: str) -> str:
    """The variable of a kind's route: ``MCP_PUSH_ROUTE_ERROR``."""
    return f"{ROUTE_PREFIX}{kind.upper()}"


@dataclass(frozen=True)
class QuietHours:
    """``MCP_PUSH_QUIET=22:00-08:00`` in ``zone`` (``MCP_PUSH_TZ``, default the system's)."""

    start: dt.time
    end: dt.time
    zone: dt.tzinfo
    text: str  # as written, for messages
    zone_name: str = "local time"  # the IANA name, for messages

    def window_end(self, now: float) -> float | None:
        """If ``now`` (epoch seconds) is inside the window, the epoch second it ends; else None.

        Read on the zone's wall clock, so a window that spans a change of summer time still ends
        at its written hour (a 22:00-08:00 night is 9 or 11 hours long then)."""
        local = dt.datetime.fromtimestamp(now, self.zone)
        clock = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:  # within one day: 12:00-14:00
            if not self.start <= clock < self.end:
                return None
        elif clock >= self.start:  # wraps midnight, before it: ends tomorrow
            day += dt.timedelta(days=1)
        elif clock >= self.end:  # wraps midnight, after its end: outside
            return None
        return dt.datetime.combine(day, self.end, tzinfo=self.zone).timestamp()

    def until_text(self, end: float) -> str:
        """'08:00 Europe/Berlin': when a window ends, as a person reads it."""
        return f"{dt.datetime.fromtimestamp(end, self.zone):%H:%M} {self.zone_name}"


@dataclass(frozen=True)
class Tier:
    """One tier of ``MCP_PUSH_ASK_ESCALATE``: its channels, sent ``delay`` seconds after the ask."""

    channels: tuple[str, ...]
    delay: float


@dataclass(frozen=True)
class Rules:
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> channel ids
    quiet: QuietHours | None = None
    bypass: frozenset[str] = DEFAULT_BYPASS  # kinds that go through quiet hours
    digest_seconds: float = 0.0  # 0: off
    stop_delay: float = 0.0  # 0: off
    min_turn: float = DEFAULT_MIN_TURN  # 0: off
    escalation: tuple[Tier, ...] = ()  # empty: asks go to their route at once
    zone: dt.tzinfo = dt.UTC  # MCP_PUSH_TZ or the system's: the clock times in notes
    zone_name: str = "UTC"

    def clock(self, at: float, seconds: bool = False) -> str:
        """``at`` on the rules' wall clock: 'HH:MM' (or 'HH:MM:SS')."""
        return dt.datetime.fromtimestamp(at, self.zone).strftime("%H:%M:%S" if seconds else "%H:%M")

    def lines(self) -> list[str]:
        """Each rule in force, one line each (``mcp-push channels``); routes first."""
        out = [f"{route_var(kind)}={','.join(ids)}" for kind, ids in self.routes.items()]
        if self.escalation:
            out.append(f"{ESCALATE}: {escalation_text(self.escalation)}")
        if self.quiet is not None:
            bypass = ",".join(sorted(self.bypass)) or "nothing"
            out.append(
                f"{QUIET}={self.quiet.text} ({self.quiet.zone_name}); going through: {bypass} and urgent messages"
            )
        if self.digest_seconds:
            out.append(f"{DIGEST}={self.digest_seconds:g}: a run's start/update pushes folded into one per window")
        if self.stop_delay:
            out.append(f"{STOP_DELAY}={self.stop_delay:g}: a finished turn waits, dropped if you are back")
        if self.min_turn:
            out.append(f"{MIN_TURN}={self.min_turn:g}: shorter turns are recorded, not pushed")
        return out


def escalation_text(tiers: tuple[Tier, ...]) -> str:
    """'telegram; ntfy,smtp @120; pushover @600' (as it would be written)."""
    return "; ".join(",".join(t.channels) + (f" @{t.delay:g}" if t.delay else "") for t in tiers)


# --- parsing -----------------------------------------------------------------------------


def load_rules(env: Mapping[str, str]) -> Rules:
    """Parse and check every attention variable of ``env``; raise ConfigError naming the bad one."""
    # The zone serves only the rules that read a clock; without one, no zone database is opened
    # (every hook and `send` reads the rules).
    clocked = any(env.get(var, "").strip() for var in (TZ, QUIET, DIGEST, STOP_DELAY, ESCALATE))
    zone, zone_name = _zone(env) if clocked else (dt.UTC, "UTC")
    routes = _routes(env)
    escalation = _escalation(env)
    if escalation and "ask" in routes:
        raise ConfigError(
            f"{route_var('ask')} and {ESCALATE} both say where asks go: keep one. {ESCALATE}'s first tier is "
            f"where an ask goes at once, so unset {route_var('ask')} (or unset {ESCALATE} to send asks to its "
            "channels without escalation)"
        )
    return Rules(
        routes=routes,
        quiet=_quiet(env, zone, zone_name),
        bypass=_bypass(env),
        digest_seconds=_seconds(env, DIGEST, 0.0),
        stop_delay=_seconds(env, STOP_DELAY, 0.0),
        min_turn=_seconds(env, MIN_TURN, DEFAULT_MIN_TURN),
        escalation=escalation,
        zone=zone,
        zone_name=zone_name,
    )


_cache: dict[int, tuple[weakref.ref[Settings], Rules]] = {}


def rules_for(settings: Settings) -> Rules:
    """The rules of ``settings`` (parsed on first use, then kept as long as the settings live)."""
    key = id(settings)
    found = _cache.get(key)
    if found is not None and found[0]() is settings:
        return found[1]
    rules = load_rules(settings.env)
    _cache[key] = (weakref.ref(settings, lambda _: _cache.pop(key, None)), rules)
    return rules


def _seconds_or_none(text: str) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _seconds(env: Mapping[str, str], var: str, default: float) -> float:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    value = _seconds_or_none(raw)
    if value is None:
        raise ConfigError(
            f"{var}={raw[:40]!r} is not a number of seconds; set it to e.g. {default or 60:g} (0 turns it off) "
            "or unset it"
        )
    return value


def _words(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _channel_list(var: str, raw: str, env: Mapping[str, str], where: str = "") -> tuple[str, ...]:
    """The channel ids of a comma list, each known and configured (instances like telegram:2 too)."""
    from mcp_push.channels import get_channel_class, known_channels_hint, missing_variables

    ids = tuple(dict.fromkeys(word.lower() for word in _words(raw)))
    for cid in ids:
        cls = get_channel_class(cid)
        if cls is None:
            raise ConfigError(f"{var}{where} names unknown channel {cid!r}: {known_channels_hint()}")
        if not cls.enabled(env):
            missing = missing_variables(cls, env)
            raise ConfigError(
                f"{var}{where} names channel {cid!r}, which is not configured: set {', '.join(missing)}, "
                f"or take {cid} out of {var}"
            )
    return ids


def _routes(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    names = {name for name in env if name.startswith(ROUTE_PREFIX)}
    stray = sorted(names - {route_var(kind) for kind in KINDS})
    if stray:
        raise ConfigError(
            f"{stray[0]} is not a rule: routes are {', '.join(route_var(k) for k in KINDS)} "
            "(SEND: notifications without an event)"
        )
    routes = {}
    for kind in KINDS:
        var = route_var(kind)
        if var not in env:
            continue
        ids = _channel_list(var, env[var], env)
        if not ids:
            raise ConfigError(f"empty route: unset {var} to send {kind} notifications to every channel")
        routes[kind] = ids
    return routes


def _clock(text: str) -> dt.time | None:
    found = _CLOCK.match(text.strip())
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    return dt.time(hour, minute) if hour < 24 and minute < 60 else None


def _quiet(env: Mapping[str, str], zone: dt.tzinfo, zone_name: str) -> QuietHours | None:
    raw = env.get(QUIET, "").strip()
    if not raw:
        return None
    first, sep, second = raw.partition("-")
    start, end = _clock(first), _clock(second)
    if not sep or start is None or end is None:
        raise ConfigError(
            f"{QUIET}={raw[:40]!r} is not a window: write HH:MM-HH:MM on the 24-hour clock, e.g. 22:00-08:00 "
            "(it may wrap past midnight)"
        )
    if start == end:
        raise ConfigError(f"{QUIET}={raw!r} starts and ends at the same time: give a window such as 22:00-08:00")
    return QuietHours(start, end, zone, f"{start:%H:%M}-{end:%H:%M}", zone_name)


def _bypass(env: Mapping[str, str]) -> frozenset[str]:
    raw = env.get(BYPASS, "").strip()
    if not raw:
        return DEFAULT_BYPASS
    words = {word.lower() for word in _words(raw)}
    if words == {"none"}:
        return frozenset()
    unknown = sorted(words - set(KINDS))
    if unknown:
        raise ConfigError(
            f"{BYPASS} names {unknown[0]!r}, which is not a kind: use a comma list of {', '.join(KINDS)} "
            "(or none); urgent messages always go through"
        )
    return frozenset(words)


def _zone(env: Mapping[str, str]) -> tuple[dt.tzinfo, str]:
    """``MCP_PUSH_TZ`` (an IANA name), else the system's zone with its summer time."""
    raw = env.get(TZ, "").strip()
    if raw:
        zone = _named_zone(raw)
        if zone is None:
            raise ConfigError(
                f"{TZ}={raw[:60]!r} is not a time zone this system knows: use an IANA name such as "
                "Europe/Berlin or America/New_York (`pip install tzdata` where the system has no zone database)"
            )
        return zone, raw
    return _system_zone(env)


def _named_zone(name: str) -> dt.tzinfo | None:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _system_zone(env: Mapping[str, str]) -> tuple[dt.tzinfo, str]:
    """The zone of ``TZ``, else of /etc/localtime, else the current UTC offset (without summer time)."""
    name = env.get("TZ", "").strip().lstrip(":")
    zone = _named_zone(name) if name else None
    if zone is not None:
        return zone, name
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    marker = "zoneinfo" + os.sep
    if marker in target:
        name = target.split(marker, 1)[1]
        zone = _named_zone(name)
        if zone is not None:
            return zone, name
    fixed = dt.datetime.now().astimezone().tzinfo or dt.UTC
    return fixed, fixed.tzname(None) or "local time"


def _escalation(env: Mapping[str, str]) -> tuple[Tier, ...]:
    raw = env.get(ESCALATE)
    if raw is None:
        return ()
    if not raw.strip():
        raise ConfigError(f"{ESCALATE} is empty: unset it, or write tiers such as 'telegram; ntfy,smtp @120'")
    tiers: list[Tier] = []
    seen: dict[str, int] = {}
    for number, part in enumerate(raw.split(";"), 1):
        tier = _tier(part, number, env)
        for cid in tier.channels:
            if cid in seen:
                raise ConfigError(
                    f"{ESCALATE}: channel {cid!r} is in tier {seen[cid]} and tier {number}; name each channel once"
                )
            seen[cid] = number
        if tiers and tier.delay <= tiers[-1].delay:
            raise ConfigError(
                f"{ESCALATE}: tier {number} comes @{tier.delay:g} s, not later than tier {number - 1} "
                f"(@{tiers[-1].delay:g} s); each tier's delay must be larger than the one before"
            )
        tiers.append(tier)
    return tuple(tiers)


def _tier(part: str, number: int, env: Mapping[str, str]) -> Tier:
    where = f" tier {number}"
    found = _DELAY.match(part)
    names, delay_text = (found.group(1), found.group(2)) if found else (part, "")
    delay = 0.0
    if found:
        parsed = _seconds_or_none(delay_text)
        if parsed is None:
            raise ConfigError(
                f"{ESCALATE}{where}: @{delay_text[:20]!r} is not a number of seconds; write e.g. 'ntfy @120'"
            )
        delay = parsed
    if not _words(names):
        raise ConfigError(f"{ESCALATE}{where} is empty: give each tier its channels, e.g. 'telegram; ntfy,smtp @120'")
    if number == 1 and delay:
        raise ConfigError(f"{ESCALATE}: tier 1 goes out at once; remove its @{delay:g} (later tiers take a delay)")
    if number > 1 and not found:
        raise ConfigError(f"{ESCALATE}{where} has no delay: add @seconds after its channels, e.g. 'ntfy @120'")
    return Tier(_channel_list(ESCALATE, names, env, where), delay)
