"""DingTalk's robot/send endpoint, checking the access token and the HMAC signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "7d1c5e0f9a8b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d"
SECRET = "SECb7e3f1a2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5"
SIGN_MISMATCH = Reply(200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com]"})


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FakeDingTalk(FakeProvider):
    replies = {
        "ok": Reply(200, {"errcode": 0, "errmsg": "ok"}),
        "permanent": Reply(
            200, {"errcode": 310000, "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com]"}
        ),
        "transient": Reply(200, {"errcode": -1, "errmsg": "系统繁忙"}),
        "rate_limited": Reply(200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/robot/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        if request.param("access_token") != TOKEN:
            raise Rejected("bad token", Reply(200, {"errcode": 300001, "errmsg": "token is not exist"}))
        timestamp = request.param("timestamp") or ""
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600_000:
            raise Rejected("stale timestamp", SIGN_MISMATCH)
        # parse_qs has already undone the URL-encoding, as DingTalk's server does.
        if request.param("sign") != expected_sign(timestamp):
            raise Rejected("bad signature", SIGN_MISMATCH)
        body = request.json()
        problem = _body_problem(body)
        if problem:
            raise Rejected(f"{problem}: {str(body)[:200]}", Reply(200, {"errcode": 40035, "errmsg": "缺少参数 json"}))
        if len(request.body) > 20 * 1024:
            raise Rejected("body over 20 KB", Reply(200, {"errcode": 460101, "errmsg": "message too long"}))


def _body_problem(body: dict) -> str | None:
    """What DingTalk refuses: text without content, markdown or actionCard without title or text,
    an actionCard without its button."""
    kind = body.get("msgtype")
    part = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        return f"msgtype {kind!r} without its object"
    if kind == "text":
        return None if part.get("content") else "text without content"
    if kind in ("markdown", "actionCard"):
        if not part.get("title") or not part.get("text"):
            return f"{kind} without a title or text"
        if kind == "actionCard" and not (part.get("singleTitle") and part.get("singleURL")) and not part.get("btns"):
            return "actionCard without a button"
        return None
    return f"unsupported msgtype {kind!r}"


CASE = ChannelCase(
    channel="dingtalk",
    fake=FakeDingTalk,
    env=lambda url: {"DD_BOT_TOKEN": TOKEN, "DD_BOT_SECRET": SECRET, "MCP_PUSH_ORIGIN_DINGTALK": url},
    secrets=(TOKEN, SECRET),
    permanent_reason="keywords not in content",
    rate_wait=600.0,
)
