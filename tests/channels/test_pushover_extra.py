"""Pushover: truncation to its limits, the monthly quota answer, status == 1."""

from __future__ import annotations

import time

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError, RateLimitedError
from mcp_push.channels.base import Message
from mcp_push.channels.pushover import Pushover


def pushover(env: dict[str, str] | None = None) -> Pushover:
    base = {"PUSHOVER_TOKEN": "a" * 30, "PUSHOVER_USER": "u" * 30}
    return Pushover({**base, **(env or {})}, clients=HttpClients(5))


def test_pushover_truncates_title_and_message() -> None:
    req = pushover().request(Message("T" * 300, "M" * 3000))
    assert len(req.data["title"]) == 250 and len(req.data["message"]) <= 1024
    assert req.data["message"].endswith("… (cut: 2007 more characters)")


def test_pushover_priority_and_url() -> None:
    error = pushover().request(Message("t", "**c**", event="error", url="https://ci.example.com/1")).data
    assert (error["message"], error["priority"], error["url"], error["url_title"]) == (
        "c",
        "1",
        "https://ci.example.com/1",
        "Open",
    )
    assert pushover().request(Message("t", "c", event="update")).data["priority"] == "-1"
    assert pushover({"MCP_PUSH_PRIORITY_END": "low"}).request(Message("t", "c", event="end")).data["priority"] == "-1"


def test_pushover_quota_waits_until_the_reset() -> None:
    reset = str(int(time.time()) + 7200)
    with pytest.raises(RateLimitedError) as caught:
        pushover().interpret(httpx.Response(429, headers={"X-Limit-App-Reset": reset}, json={"status": 0}))
    assert 7190 <= (caught.value.retry_after or 0) <= 7200
    with pytest.raises(RateLimitedError) as caught:
        pushover().interpret(httpx.Response(429, json={"status": 0}))
    assert 0 < (caught.value.retry_after or 0) <= 32 * 86400


def test_pushover_needs_status_1() -> None:
    with pytest.raises(PermanentError, match="status is not 1"):
        pushover().interpret(httpx.Response(200, json={"status": 0}))
    assert pushover().interpret(httpx.Response(200, json={"status": 1, "request": "r-1"})).provider_id == "r-1"
