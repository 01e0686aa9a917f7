"""Synology Chat: the payload survives quotes, and HTTP 200 with success=false is a failure."""

from __future__ import annotations

import json

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError
from mcp_push.channels.base import Message
from mcp_push.channels.synology_chat import SynologyChat

TOKEN = "%22AbCdEf123456%22"


def channel() -> SynologyChat:
    env = {"CHAT_URL": "https://nas:5001/webapi/entry.cgi?api=SYNO.Chat.External&token=", "CHAT_TOKEN": TOKEN}
    return SynologyChat(env, clients=HttpClients(5))


def test_payload_is_json_even_with_quotes() -> None:
    req = channel().request(Message('He said "done"', "path C:\\tmp & more"))
    assert json.loads(req.data["payload"])["text"] == 'He said "done"\n\npath C:\\tmp & more'
    assert req.url.endswith("token=" + TOKEN)


def test_success_false_is_a_failure_with_the_code() -> None:
    body = {"error": {"code": 120, "errors": {"name": "payload", "reason": "required"}}, "success": False}
    with pytest.raises(PermanentError, match=r"name=payload reason=required.*code 120"):
        channel().interpret(httpx.Response(200, json=body))


def test_decoded_token_is_redacted() -> None:
    assert channel().redact('token="AbCdEf123456" and AbCdEf123456') == "token=*** and ***"
