"""Pushover: truncation to its limits, the monthly quota answer, status == 1."""

from __future__ import annotations

import time

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError, RateLimitedError
from mcp_push.channels.base import Message
from mcp_push.channels.pushover import Pushover


def pushover() -> Pushover:
    return Pushover({"PUSHOVER_TOKEN": "a" * 30, "PUSHOVER_USER": "u" * 30}, clients=HttpClients(5))


def test_pushover_truncates_title_and_message() -> None:
    req = pushover().request(Message("T" * 300, "M" * 3000))
    assert len(req.data["title"]) == 250 and len(req.data["message"]) == 1024
    assert req.data["message"].endswith("[truncated]")


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
