"""Feishu's custom bot hook, with signature checking (签名校验) switched on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "5f0e8c1a-3b2d-4e6f-9a7b-c8d9e0f1a2b3"
SECRET = "kT9vQ2xZr8LmN4pW6sY1"
SIGN_FAIL = Reply(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


class FakeFeishu(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 0, "data": {}, "msg": "success"}),
        "permanent": Reply(200, {"code": 19024, "data": {}, "msg": "Key Words Not Found"}),
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(
            200, {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}
        ),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/open-apis/bot/v2/hook/{TOKEN}":
            raise Rejected(
                f"bad request line {request.method} {request.path}",
                Reply(200, {"code": 19001, "data": {}, "msg": "param invalid: incoming webhook access token invalid"}),
            )
        if len(request.body) > 20 * 1024:
            raise Rejected("body too large", Reply(200, {"code": 9499, "data": {}, "msg": "Bad Request"}))
        body = request.json()
        timestamp = str(body.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            raise Rejected("stale or missing timestamp", SIGN_FAIL)
        if body.get("sign") != expected_sign(timestamp):
            raise Rejected("bad signature", SIGN_FAIL)
        if body.get("msg_type") != "text" or not (body.get("content") or {}).get("text"):
            raise Rejected(f"bad body {body}", Reply(200, {"code": 9499, "data": {}, "msg": "Bad Request"}))


CASE = ChannelCase(
    channel="feishu",
    fake=FakeFeishu,
    env=lambda url: {"FSKEY": TOKEN, "FSSECRET": SECRET, "MCP_PUSH_ORIGIN_FEISHU": url},
    secrets=(TOKEN, SECRET),
    permanent_reason="Key Words Not Found",
    rate_wait=3.0,
)
