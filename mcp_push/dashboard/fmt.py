"""Small text formatters: durations and ages a person reads at a glance, and escaping."""

from __future__ import annotations

import datetime as dt
import html

from mcp_push.dashboard.snapshot import Scrub


def esc(value: object, scrub: Scrub | None = None) -> str:
    """HTML-escape anything we did not write ourselves (run ids, titles, errors come from agents)."""
    text = "" if value is None else str(value)
    if scrub is not None:
        text = scrub(text)
    return html.escape(text, quote=True)


def duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``4 min 05 s``, ``2 h 10 min``, ``3 d 4 h``."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes} min" if secs == 0 else f"{minutes} min {secs:02d} s"
    if seconds < 86400:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d" if hours == 0 else f"{days} d {hours} h"


def ago(then: float, now: float) -> str:
    delta = now - then
    if abs(delta) < 5:
        return "just now"
    if delta < 0:
        return f"in {duration(-delta)}"
    if delta < 60:
        return f"{delta:.0f} s ago"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    return f"{int(delta // 86400)} d ago"


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clock(ts: float) -> str:
    """UTC wall-clock time; the page's script rewrites it in the reader's own time zone."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S UTC")


def time_tag(ts: float, now: float, *, relative: bool = False) -> str:
    """A <time> element: relative ("4 min ago") or a clock time, with the exact moment on hover."""
    text = ago(ts, now) if relative else clock(ts)
    kind = "rel" if relative else "clock"
    return f'<time datetime="{iso(ts)}" data-fmt="{kind}" title="{iso(ts)}">{esc(text)}</time>'
