"""PushPlus's /send endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f"
NO_TOKEN = Reply(200, {"code": 907, "msg": "token不存在", "data": None})


class FakePushPlus(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 200, "msg": "请求成功", "data": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "count": None}),
        "permanent": NO_TOKEN,
        "transient": Reply(200, {"code": 500, "msg": "服务器内部错误", "data": None}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        body = request.json()
        if body.get("token") != TOKEN:
            raise Rejected("bad token", NO_TOKEN)
        if not body.get("content") or body.get("template", "html") not in {"html", "txt", "json", "markdown"}:
            raise Rejected(f"bad body {body}", Reply(200, {"code": 905, "msg": "参数错误", "data": None}))
        if body.get("topic") != "agents":
            raise Rejected("PUSH_PLUS_USER not sent as topic", Reply(200, {"code": 905, "msg": "群组不存在"}))


CASE = ChannelCase(
    channel="pushplus",
    fake=FakePushPlus,
    env=lambda url: {"PUSH_PLUS_TOKEN": TOKEN, "PUSH_PLUS_USER": "agents", "MCP_PUSH_ORIGIN_PUSHPLUS": url},
    secrets=(TOKEN,),
    permanent_reason="token不存在",
)
