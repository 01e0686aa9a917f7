"""iGot's /{key} push endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "7a1b2c3d4e5f6a7b8c9d0e1f"
BAD_KEY = Reply(200, {"ret": 201, "data": None, "errMsg": "key不存在或已失效"})


class FakeIGot(FakeProvider):
    replies = {
        "ok": Reply(200, {"ret": 0, "data": {"id": "6155b9b3"}, "errMsg": "推送成功"}),
        "permanent": BAD_KEY,
        "transient": Reply(503, "Service Unavailable"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/{KEY}":
            raise Rejected(f"bad request line {request.method} {request.path}", BAD_KEY)
        form = request.form()
        if not form.get("title") or not form.get("content"):
            raise Rejected(f"bad form {form}", Reply(200, {"ret": 400, "errMsg": "title和content不能为空"}))


CASE = ChannelCase(
    channel="igot",
    fake=FakeIGot,
    env=lambda url: {"IGOT_PUSH_KEY": KEY, "MCP_PUSH_ORIGIN_IGOT": url},
    secrets=(KEY,),
    permanent_reason="key不存在",
)
