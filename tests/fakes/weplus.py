"""WePlusBot's /send endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9"
BAD_TOKEN = Reply(200, {"code": 903, "msg": "无效的用户令牌", "data": None})


class FakeWePlus(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 200, "msg": "请求成功", "data": "7c1d2e3f"}),
        "permanent": BAD_TOKEN,
        "transient": Reply(503, "Service Temporarily Unavailable"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        body = request.json()
        if body.get("token") != TOKEN:
            raise Rejected("bad token", BAD_TOKEN)
        if not body.get("content") or body.get("template") not in {"txt", "html"} or not body.get("version"):
            raise Rejected(f"bad body {body}", Reply(200, {"code": 905, "msg": "参数错误"}))


CASE = ChannelCase(
    channel="weplus",
    fake=FakeWePlus,
    env=lambda url: {"WE_PLUS_BOT_TOKEN": TOKEN, "MCP_PUSH_ORIGIN_WEPLUS": url},
    secrets=(TOKEN,),
    permanent_reason="无效的用户令牌",
)
