"""Discord webhook: ?wait=true, 2000-character content, retry_after from the 429 body."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError, RateLimitedError
from mcp_push.channels.base import Message
from mcp_push.channels.discord import Discord, with_wait

DISCORD = "https://discord.com/api/webhooks/123/tok-ABCdef123456"


def test_discord_truncates_and_waits() -> None:
    ch = Discord({"DISCORD_WEBHOOK_URL": DISCORD + "?thread_id=9&wait=false"}, clients=HttpClients(5))
    req = ch.request(Message("t", "x" * 5000))
    (embed,) = req.json["embeds"]
    assert len(embed["description"]) <= 4096 and embed["description"].endswith("more characters)*")
    assert req.url.endswith("?thread_id=9&wait=true")
    assert with_wait(DISCORD) == DISCORD + "?wait=true"


def test_discord_answers() -> None:
    ch = Discord({"DISCORD_WEBHOOK_URL": DISCORD}, clients=HttpClients(5))
    assert ch.interpret(httpx.Response(204)).provider_id is None
    limited = httpx.Response(429, json={"message": "You are being rate limited.", "retry_after": 0.25, "global": True})
    with pytest.raises(RateLimitedError, match="global") as caught:
        ch.interpret(limited)
    assert caught.value.retry_after == 0.25
    with pytest.raises(PermanentError, match="50027"):
        ch.interpret(httpx.Response(401, json={"message": "Invalid Webhook Token", "code": 50027}))
