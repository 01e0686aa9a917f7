"""The one link a message carries: the caller's ``url``, else ``data.artifact_url``, else ``data.url``.

Only absolute http(s) addresses become a channel's button or click action; anything else
(``javascript:``, a relative path, a file) stays in the message as text, if it is there at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_URL = 2048
DATA_KEYS = ("artifact_url", "url")


def check_url(value: Any, where: str = "url") -> str:
    """``value`` as a usable link, or a ValueError that says what a link must look like."""
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string such as 'https://ci.example.com/runs/42'")
    url = value.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest[0] in "/?#":
        raise ValueError(f"{where} must be an absolute http:// or https:// address, got {url[:60]!r}")
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError(f"{where} must be at most {MAX_URL} characters without spaces or control characters")
    return url


def message_url(url: str | None, data: Mapping[str, Any] | None = None) -> str | None:
    """The message's link: ``url`` (checked: a bad one raises ValueError), else the first usable
    ``data.artifact_url`` / ``data.url`` (a bad one there is ignored: data is free-form)."""
    if url is not None:
        return check_url(url)
    for key in DATA_KEYS:
        value = (data or {}).get(key)
        if value is not None:
            try:
                return check_url(value, f"data.{key}")
            except ValueError:
                continue
    return None
