"""Qmsg酱's /{type}/{key} endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
BAD_KEY = Reply(200, {"success": False, "reason": "KEY不正确或者已经失效", "code": 500, "info": {}})


class FakeQmsg(FakeProvider):
    replies = {
        "ok": Reply(200, {"success": True, "reason": "操作成功", "code": 0, "info": {}}),
        "permanent": BAD_KEY,
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path not in (f"/send/{KEY}", f"/group/{KEY}"):
            raise Rejected(f"bad request line {request.method} {request.path}", BAD_KEY)
        if not request.form().get("msg"):
            raise Rejected("empty msg", Reply(200, {"success": False, "reason": "消息内容不能为空", "code": 500}))


CASE = ChannelCase(
    channel="qmsg",
    fake=FakeQmsg,
    env=lambda url: {"QMSG_KEY": KEY, "QMSG_TYPE": "send", "MCP_PUSH_ORIGIN_QMSG": url},
    secrets=(KEY,),
    permanent_reason="KEY不正确",
)
