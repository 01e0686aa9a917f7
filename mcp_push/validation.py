"""Input checks shared by the MCP tools and the CLI. Each failure says what is wrong and how to fix it.

The MCP tools hand their arguments over untouched (any JSON type), so every message here is the
one an agent reads: it names the argument, what it got, and what to send instead.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from mcp_push.config import EVENTS
from mcp_push.errors import InputError

RUN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_TITLE = 1_000
MAX_CONTENT = 100_000
MAX_DATA_BYTES = 64 * 1024
MAX_KEY = 256
MAX_TIMESTAMP = 64
EPOCH = re.compile(r"[+-]?\d+(\.\d+)?")


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as an agent sending JSON sees it ("a number", not "int")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def required_text(name: str, value: Any, limit: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{name} is required and must not be empty")
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string of text, not {json_type(value)}: send it as a JSON string")
    if len(value) > limit:
        raise InputError(f"{name} has {len(value):,} characters; the limit is {limit:,}: shorten it")
    return value


def run_id(value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"run_id must be a string such as 'build-42', not {json_type(value)}")
    if not RUN_ID.fullmatch(value):
        raise InputError(
            f"run_id {value[:40]!r} is invalid: use 1-128 characters from A-Z a-z 0-9 . _ : - "
            "(for example 'build-42' or 'claude:session-7')"
        )
    return value


def event(value: Any) -> str:
    if not isinstance(value, str) or value not in EVENTS:
        shown = repr(value[:40]) if isinstance(value, str) else json_type(value)
        raise InputError(f"event {shown} is unknown: use {', '.join(EVENTS[:-1])} or {EVENTS[-1]}")
    return value


def data(value: Any) -> dict[str, Any] | None:
    """``data`` is a JSON object (a dict, or a string holding one) of at most 64 KiB."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            pos = getattr(exc, "pos", None)
            where = f" at position {pos}" if pos is not None else ""
            raise InputError(f'data is not valid JSON ({msg}{where}): pass an object like {{"tests": 42}}') from None
        except RecursionError:
            raise InputError("data is nested too deeply: pass a flat JSON object") from None
    if not isinstance(value, dict):
        raise InputError(f'data must be a JSON object like {{"tests": 42}}, not {json_type(value)}')
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"data cannot be stored as JSON ({exc}): pass plain JSON values") from None
    size = len(encoded.encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise InputError(f"data is {size:,} bytes as JSON; the limit is {MAX_DATA_BYTES:,} (64 KiB): send less")
    return value


def timestamp(value: Any) -> str | None:
    """When an event happened: ISO 8601 text (kept as given) or epoch seconds (shown as ISO 8601 UTC)."""
    if value is None:
        return None
    hint = "use ISO 8601 such as '2025-05-01T12:30:00Z', or epoch seconds such as 1746102600"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"timestamp must be a string or a number, not {json_type(value)}: {hint}")
    text = value.strip() if isinstance(value, str) else repr(value)
    if not text:
        return None
    if len(text) > MAX_TIMESTAMP:
        raise InputError(f"timestamp has {len(text):,} characters; the limit is {MAX_TIMESTAMP}: {hint}")
    if isinstance(value, int | float) or EPOCH.fullmatch(text):
        seconds = float(text)
        try:
            if not math.isfinite(seconds):
                raise ValueError
            return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        except (ValueError, OverflowError, OSError):
            raise InputError(f"timestamp {text[:40]!r} is out of range (seconds, not milliseconds?): {hint}") from None
    try:
        dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(f"timestamp {text[:40]!r} is not ISO 8601 or epoch seconds: {hint}") from None
    return text


def idempotency_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        got = json_type(value)
    elif not value.strip():
        got = "an empty string"
    elif len(value) > MAX_KEY:
        got = f"{len(value):,} characters"
    else:
        return value
    raise InputError(
        f"idempotency_key must be a non-empty string of at most {MAX_KEY} characters, not {got}: "
        "for example 'deploy-42'"
    )


def ticket(value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"ticket must be a string such as 'tk-0190a1b2c3d4e5f6a7b8', not {json_type(value)}")
    if not value.strip():
        raise InputError("ticket is empty: pass the ticket that notify_send or notify_event returned")
    return value


def channel_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(
            f"channels must be a list of channel ids such as ['telegram', 'ntfy'], not {_list_type(value)}"
        )
    if not value:
        raise InputError("channels is empty: leave it out to use every configured channel")
    return list(dict.fromkeys(value))


def _list_type(value: Any) -> str:
    if isinstance(value, list):
        bad = next((v for v in value if not isinstance(v, str) or not v), None)
        return f"an array holding {json_type(bad) if bad != '' else 'an empty string'}"
    return json_type(value)


# --- rendering (issue 13): how a message is written, how urgent, its link, where it came from ---

FORMATS = ("markdown", "text")  # mcp_push.render.FORMATS: kept equal by a test, the renderer is not imported here
PRIORITIES = ("low", "normal", "high", "urgent")  # mcp_push.render.priority.LEVELS
MAX_SOURCE = 1_000


def message_format(value: Any) -> str:
    """``markdown`` (the default) or ``text`` (sent literally, nothing formatted)."""
    if value is None:
        return "markdown"
    if not isinstance(value, str) or value.strip().lower() not in FORMATS:
        shown = repr(value[:20]) if isinstance(value, str) else json_type(value)
        raise InputError(f"format {shown} is unknown: use 'markdown' (the default) or 'text' (sent as written)")
    return value.strip().lower()


def priority(value: Any) -> str | None:
    """low | normal | high | urgent, or None: the event's (MCP_PUSH_PRIORITY_<EVENT>, else its default)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"priority must be one of {', '.join(PRIORITIES)}, not {json_type(value)}")
    from mcp_push.render.priority import check

    try:
        return check(value, "priority")
    except ValueError as exc:
        raise InputError(f"{exc}, or leave it out for the event's default") from None


def url(value: Any, payload: dict[str, Any] | None = None) -> str | None:
    """The message's link: ``url`` (an absolute http(s) address), else ``data.artifact_url`` / ``data.url``."""
    from mcp_push.render.links import message_url

    try:
        return message_url(value, payload)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def source(value: Any) -> str | None:
    """A caller's own source line (None: the one mcp-push works out); an empty string: no source line."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"source must be a string such as 'my-app · main · laptop', not {json_type(value)}")
    if len(value) > MAX_SOURCE:
        raise InputError(f"source has {len(value):,} characters; the limit is {MAX_SOURCE:,}: shorten it")
    return value


# --- asks -------------------------------------------------------------------------------------

MAX_QUESTION = 1_000
MAX_CHOICES = 5
MAX_CHOICE_LABEL = 64
DEFAULT_CHOICES = ("Yes", "No")
DEFAULT_ASK_TIMEOUT = 600.0
MAX_ASK_TIMEOUT = 86_400.0
MIN_ASK_TIMEOUT = 1.0
MAX_WAIT = 100.0
DEFAULT_WAIT = 60.0


def question(value: Any) -> str:
    return required_text("question", value, MAX_QUESTION).strip()


def choices(value: Any) -> tuple[str, ...]:
    """1-5 distinct single-line labels of at most 64 characters; ``["Yes", "No"]`` when omitted."""
    if value is None:
        return DEFAULT_CHOICES
    example = "for example ['Allow', 'Deny']"
    if isinstance(value, str):
        raise InputError(f"choices must be an array of labels, {example}, not a string")
    if not isinstance(value, list | tuple):
        raise InputError(f"choices must be an array of labels, {example}, not {json_type(value)}")
    if not 1 <= len(value) <= MAX_CHOICES:
        raise InputError(f"choices has {len(value)} labels; give 1 to {MAX_CHOICES} ({example}), or leave it out")
    labels: list[str] = []
    for label in value:
        if not isinstance(label, str):
            raise InputError(f"choices must hold strings, not {json_type(label)}: {example}")
        label = label.strip()
        if not label:
            raise InputError("a label in choices is empty: give each choice some text")
        if len(label) > MAX_CHOICE_LABEL:
            raise InputError(
                f"the choice {label[:20]!r}… has {len(label)} characters; the limit is {MAX_CHOICE_LABEL}: shorten it"
            )
        if "\n" in label or "\r" in label:
            raise InputError(f"the choice {label[:20]!r} spans several lines: a button label is one line")
        if label.casefold() in (seen.casefold() for seen in labels):
            raise InputError(f"the choice {label!r} is given twice: every choice must be different")
        labels.append(label)
    return tuple(labels)


def flag(name: str, value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, not {json_type(value)}")
    return value


def seconds(name: str, value: Any, *, default: float, minimum: float, maximum: float) -> float:
    """A number of seconds within [minimum, maximum]; ``default`` when omitted."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number of seconds such as {default:g}, not {json_type(value)}")
    if not minimum <= value <= maximum:
        raise InputError(f"{name} is {value:g}; give {minimum:g} to {maximum:g} seconds")
    return float(value)
