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
