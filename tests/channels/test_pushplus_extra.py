"""PushPlus: the optional variables reach the request under PushPlus's field names."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, TransientError
from mcp_push.channels.pushplus import PushPlus


def test_options_and_codes() -> None:
    env = {
        "PUSH_PLUS_TOKEN": "t" * 32,
        "PUSH_PLUS_TEMPLATE": "markdown",
        "PUSH_PLUS_CHANNEL": "webhook",
        "PUSH_PLUS_WEBHOOK": "team",
        "PUSH_PLUS_CALLBACKURL": "https://example.com/cb",
        "PUSH_PLUS_TO": "friend",
    }
    channel = PushPlus(env, clients=HttpClients(5))
    body = channel.request(Message("t", "c")).json
    assert body["template"] == "markdown" and body["channel"] == "webhook" and body["webhook"] == "team"
    assert body["callbackUrl"] == "https://example.com/cb" and body["to"] == "friend" and "topic" not in body
    assert (
        PushPlus({"PUSH_PLUS_TOKEN": "t" * 32}, clients=HttpClients(5)).request(Message("t", "")).json["template"]
        == "markdown"
    )
    plain = PushPlus({"PUSH_PLUS_TOKEN": "t" * 32, "PUSH_PLUS_TEMPLATE": "txt"}, clients=HttpClients(5))
    assert plain.request(Message("t", "**bold** <b>")).json["content"] == "bold <b>"
    page = PushPlus({"PUSH_PLUS_TOKEN": "t" * 32, "PUSH_PLUS_TEMPLATE": "html"}, clients=HttpClients(5))
    assert page.request(Message("t", "**bold** <b>")).json["content"] == "<p><strong>bold</strong> &lt;b&gt;</p>"
    with pytest.raises(TransientError):
        channel.interpret(httpx.Response(200, json={"code": 903, "msg": "busy"}))
    with pytest.raises(PermanentError, match="PUSH_PLUS_TOKEN"):
        channel.interpret(httpx.Response(200, json={"code": 907, "msg": "token不存在"}))
