"""The shared channel machinery: origin override, truncation, redaction, classification."""

from __future__ import annotations

import sys

import httpx
import pytest

from mcp_push.channels import all_channels
from mcp_push.channels.base import (
    TRUNCATION_MARKER,
    code_error,
    raise_for_http,
    retry_after_header,
    truncate,
    with_origin,
)
from mcp_push.channels.errors import PermanentError, RateLimitedError, TransientError
from mcp_push.channels.redact import MASK, Redactor, mask


def test_with_origin_keeps_path_and_query() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=T"
    assert with_origin(url, "http://127.0.0.1:9000/dd") == "http://127.0.0.1:9000/dd/robot/send?access_token=T"
    assert with_origin(url, "127.0.0.1:9000") == "http://127.0.0.1:9000/robot/send?access_token=T"
    assert with_origin(url, None) == url


def test_truncate_chars_and_bytes() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 5000, 4096)
    assert len(cut) == 4096 and cut.endswith(TRUNCATION_MARKER)
    cut_bytes = truncate("汉" * 1000, 2048, unit="bytes")
    assert len(cut_bytes.encode()) <= 2048 and cut_bytes.endswith(TRUNCATION_MARKER)


def test_redactor_masks_known_and_pattern_secrets() -> None:
    redact = Redactor(["s3cr3t-token", "a/b c"])
    text = (
        "POST https://api.telegram.org/bot123456:AAG9rt-6RDaaX0HBLZQq/sendMessage?access_token=zzz&x=1 "
        "s3cr3t-token a%2Fb%20c a%2Fb+c Authorization: Bearer qqq https://user:pw@host/"
    )
    out = redact(text)
    for leaked in ("s3cr3t-token", "AAG9rt", "zzz", "a%2Fb", "qqq", "user:pw"):
        assert leaked not in out
    assert "x=1" in out and MASK in out
    assert redact(None) is None


def test_mask_shows_little() -> None:
    assert mask("short") == MASK
    assert mask("1234567890abcdef") == f"123{MASK}ef"


def _response(status: int, body: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers or {})


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PermanentError),
        (401, PermanentError),
        (404, PermanentError),
        (408, TransientError),
        (429, RateLimitedError),
        (500, TransientError),
        (503, TransientError),
    ],
)
def test_raise_for_http(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        raise_for_http(_response(status, "nope"))
    raise_for_http(_response(204))


def test_retry_after_header_seconds_and_date() -> None:
    assert retry_after_header(_response(429, headers={"Retry-After": "7"})) == 7.0
    dated = _response(
        429, headers={"Retry-After": "Sat, 21 Nov 2026 06:00:10 GMT", "Date": "Sat, 21 Nov 2026 06:00:00 GMT"}
    )
    assert retry_after_header(dated) == 10.0
    assert retry_after_header(_response(429, headers={"Retry-After": "soon"})) is None


def test_code_error_classification() -> None:
    ok = _response(200)
    assert isinstance(code_error(ok, 310000, "sign mismatch"), PermanentError)
    limited = code_error(ok, 130101, "send too fast", rate_limited={130101: 600.0})
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 600.0
    assert isinstance(code_error(ok, -1, "busy", transient={-1: None}), TransientError)
    assert isinstance(code_error(_response(502), 1, "unknown"), TransientError)


def test_every_channel_declares_its_metadata() -> None:
    channels = all_channels()
    assert {"console", "ntfy", "gotify", "bark", "telegram", "webhook"} <= set(channels)
    for cid, cls in channels.items():
        assert cls.id == cid and cls.name and cls.settings, cid
        assert any(s.required for s in cls.settings) or cid in {"wxpusher"}, cid
        assert sys.modules[cls.__module__].__doc__, f"{cid}: the module says what it talks to"
