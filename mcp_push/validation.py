"""Input checks shared by the MCP tools and the CLI. Each failure says what is wrong and how to fix it."""

from __future__ import annotations

import json
import re
from typing import Any

from mcp_push.config import EVENTS
from mcp_push.errors import InputError

RUN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_TITLE = 1_000
MAX_CONTENT = 100_000
MAX_DATA_BYTES = 64 * 1024
MAX_KEY = 256


def required_text(name: str, value: Any, limit: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{name} is required and must not be empty")
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise InputError(f"{name} has {len(value):,} characters; the limit is {limit:,}: shorten it")
    return value


def run_id(value: Any) -> str:
    if not isinstance(value, str) or not RUN_ID.fullmatch(value):
        raise InputError(
            f"run_id {str(value)[:40]!r} is invalid: use 1-128 characters from A-Z a-z 0-9 . _ : - "
            "(for example 'build-42' or 'claude:session-7')"
        )
    return value


def event(value: Any) -> str:
    if value not in EVENTS:
        raise InputError(f"event {str(value)[:40]!r} is unknown: use one of {', '.join(EVENTS)}")
    return str(value)


def data(value: Any) -> dict[str, Any] | None:
    """``data`` is a JSON object (a dict, or a string holding one) of at most 64 KiB."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InputError(f"data is not valid JSON ({exc.msg} at position {exc.pos}): pass a JSON object") from None
    if not isinstance(value, dict):
        raise InputError(f'data must be a JSON object like {{"tests": 42}}, not a {type(value).__name__}')
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"data cannot be stored as JSON: {exc}") from None
    size = len(encoded.encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise InputError(f"data is {size:,} bytes as JSON; the limit is {MAX_DATA_BYTES:,} (64 KiB): send less")
    return value


def idempotency_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY:
        raise InputError(f"idempotency_key must be a non-empty string of at most {MAX_KEY} characters")
    return value


def channel_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError("channels must be a list of channel ids such as ['telegram', 'ntfy']")
    if not value:
        raise InputError("channels is empty: leave it out to use every configured channel")
    return list(dict.fromkeys(value))
