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
from mcp_push.channels.redact import MASK, Redactor, mask, mask_userinfo, split_userinfo, url_password, url_secrets
from mcp_push.storage import redact_url, scrub


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
    redact = Redactor(["s3cr3t-token", "a/b c&d=e"])
    text = (
        "POST https://api.telegram.org/bot123456:AAG9rt-6RDaaX0HBLZQq/sendMessage?access_token=zzz&x=1 "
        "s3cr3t-token a%2Fb%20c%26d%3De a%2Fb+c%26d%3De Authorization: Bearer qqq https://user:pw@host/"
    )
    out = redact(text)
    for leaked in ("s3cr3t-token", "AAG9rt", "zzz", "a%2Fb", "qqq", ":pw@"):
        assert leaked not in out
    assert "x=1" in out and MASK in out
    assert redact(None) is None


def test_a_short_secret_is_masked_only_where_it_stands_as_a_credential() -> None:
    """NTFY_TOPIC=alerts must not hide the word in "3 alerts fired", only the topic in URLs and headers."""
    redact = Redactor(["alerts", "pw12"])
    assert redact("3 alerts fired; alerts: ok; the alerts/ path") == "3 alerts fired; alerts: ok; the alerts/ path"
    assert redact("POST https://ntfy.sh/alerts failed") == "POST https://ntfy.sh/*** failed"
    assert redact("POST /alerts: 403 forbidden") == "POST /***: 403 forbidden"
    assert redact("GET /x?topic=alerts&y=1") == "GET /x?topic=***&y=1"
    assert redact("X-Topic: alerts\nnext") == "X-Topic: ***\nnext"
    assert redact("Authorization: Bearer alerts") == "Authorization: ***"
    assert redact("ntfy://alerts and postgresql://app:pw12@db/x") == "ntfy://*** and postgresql://app:***@db/x"
    assert Redactor(["alerts-topic-5f2c"])("3 alerts-topic-5f2c fired") == "3 *** fired"  # long: anywhere


def test_one_parser_for_credentials_in_urls() -> None:
    assert split_userinfo("user:pa/ss@host") == ("", "user", "pa/ss", "host")
    assert split_userinfo("https://u:p@ss@h:1/x?a=b@c") == ("https://", "u", "p@ss", "h:1/x?a=b@c")
    assert split_userinfo("127.0.0.1") == ("", "", "", "127.0.0.1")
    assert mask_userinfo("user:pass@127.0.0.1") == f"user:{MASK}@127.0.0.1"
    assert url_password("postgresql://app:p%40ss@db/ledger") == "p@ss"
    assert redact_url("postgresql://app:s3/cr@t@db:5432/ledger?sslmode=require") == "postgresql://app@db:5432/ledger"
    assert scrub("auth failed for s3/cr@t", "postgresql://app:s3/cr@t@db/l") == "auth failed for ***"
    pieces = url_secrets("https://u:pw@hooks.example.com/k/Ab3dEf6hIj9kLm/notify?t=$title&sig=xyz123")
    assert {"pw", "Ab3dEf6hIj9kLm", "notify", "xyz123"} <= set(pieces) and "$title" not in pieces


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


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport", "ftp://127.0.0.1/push"])
def test_an_unusable_url_is_permanent_not_an_internal_error(url: str) -> None:
    """A typo in a URL setting will not fix itself: one clear failure, never a traceback or endless retries."""
    from mcp_push.channels import HttpClients
    from mcp_push.channels.base import Message
    from mcp_push.channels.gotify import Gotify

    clients = HttpClients(1)
    try:
        with pytest.raises(PermanentError, match=r"request URL cannot be used.*URL settings"):
            Gotify({"GOTIFY_URL": url, "GOTIFY_TOKEN": "AqT8mZx1Lk9bWf2"}, clients=clients).send(Message("t", "c"))
    finally:
        clients.close()
