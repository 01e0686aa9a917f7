"""go-cqhttp specifics: endpoint from GOBOT_QQ, token only in the header, OneBot status handling."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError
from mcp_push.channels.base import Message
from mcp_push.channels.gocqhttp import GoCqHttp

MESSAGE = Message("Build finished", "[CQ:at,qq=all] done")


def channel(**env: str) -> GoCqHttp:
    return GoCqHttp({"GOBOT_URL": "http://127.0.0.1:5700", "GOBOT_QQ": "group_id=42", **env}, clients=HttpClients(5))


def test_bare_url_gets_the_endpoint_for_the_target() -> None:
    req = channel(GOBOT_TOKEN="tok-123456").request(MESSAGE)
    assert req.url == "http://127.0.0.1:5700/send_group_msg"
    assert req.json["group_id"] == 42 and req.json["auto_escape"] is True
    assert req.headers == {"Authorization": "Bearer tok-123456"}
    assert "tok-123456" not in req.url


def test_send_msg_endpoint_gets_a_message_type() -> None:
    req = channel(GOBOT_URL="http://127.0.0.1:5700/send_msg", GOBOT_QQ="user_id=7").request(MESSAGE)
    assert req.json["message_type"] == "private" and req.json["user_id"] == 7


def test_bad_target_is_permanent() -> None:
    with pytest.raises(PermanentError, match="GOBOT_QQ"):
        channel(GOBOT_QQ="12345").request(MESSAGE)


def test_async_is_accepted_and_403_names_the_token() -> None:
    ch = channel()
    ch.interpret(httpx.Response(200, json={"status": "async", "retcode": 1, "data": None}))
    with pytest.raises(PermanentError, match="GOBOT_TOKEN"):
        ch.interpret(httpx.Response(403, text=""))
