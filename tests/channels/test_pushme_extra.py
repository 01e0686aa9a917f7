"""PushMe: only the body text `success` means sent."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError
from mcp_push.channels.base import Message
from mcp_push.channels.pushme import PushMe


def test_pushme_needs_the_word_success() -> None:
    ch = PushMe({"PUSHME_KEY": "k" * 20}, clients=HttpClients(5))
    assert ch.request(Message("t", "c")).url == "https://push.i-i.me/"
    ch.interpret(httpx.Response(200, text="success\n"))
    with pytest.raises(PermanentError, match="PushMe answered: fail"):
        ch.interpret(httpx.Response(200, text="fail"))
