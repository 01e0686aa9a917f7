"""Aibotk's /openapi/v1/chat/room and /chat/contact endpoints."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "c0ffee1234567890abcdef0123456789"
ROOM = "Agent alerts"
BAD_KEY = Reply(200, {"code": 1, "error": "apiKey不存在或已失效"})


class FakeAibotk(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 0, "msg": "success", "data": {}}),
        "permanent": BAD_KEY,
        "transient": Reply(500, "Internal Server Error"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.room = ROOM

    def configure(self, env: dict[str, str]) -> None:
        self.room = env.get("AIBOTK_NAME", ROOM)

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path not in ("/openapi/v1/chat/room", "/openapi/v1/chat/contact"):
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        body = request.json()
        if body.get("apiKey") != KEY:
            raise Rejected("bad key", BAD_KEY)
        target = body.get("roomName") if request.path.endswith("/room") else body.get("name")
        message = body.get("message") or {}
        if target != self.room or message.get("type") != 1 or not message.get("content"):
            raise Rejected(f"bad body {body}", Reply(200, {"code": 1, "error": "群聊或好友不存在"}))


CASE = ChannelCase(
    channel="aibotk",
    fake=FakeAibotk,
    env=lambda url: {"AIBOTK_KEY": KEY, "AIBOTK_TYPE": "room", "AIBOTK_NAME": ROOM, "MCP_PUSH_ORIGIN_AIBOTK": url},
    secrets=(KEY,),
    permanent_reason="apiKey不存在",
)
