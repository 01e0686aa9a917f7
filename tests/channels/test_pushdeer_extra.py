"""PushDeer: code 0 with no device reached is not a delivery."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError, TransientError
from mcp_push.channels.pushdeer import PushDeer


def test_empty_result_is_a_failure() -> None:
    channel = PushDeer({"DEER_KEY": "PDU1TkEy"}, clients=HttpClients(5))
    with pytest.raises(PermanentError, match="no device"):
        channel.interpret(httpx.Response(200, json={"code": 0, "content": {"result": []}}))
    with pytest.raises(TransientError):
        channel.interpret(httpx.Response(200, json={"code": 80502, "error": "remote"}))
