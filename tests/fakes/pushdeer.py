"""PushDeer's /message/push endpoint (official or self-hosted)."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "PDU4821TqWkLmZx8NvB3cD5eF7gH9iJkLmNoPq"
BAD_KEY = Reply(200, {"code": 80501, "error": "pushkey不存在或已失效"})


class FakePushDeer(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 0, "content": {"result": ['{"counts":1,"logs":[],"success":"ok"}']}}),
        "permanent": BAD_KEY,
        "transient": Reply(200, {"code": 80502, "error": "远程服务错误"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/message/push":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        form = request.form()
        if form.get("pushkey") != KEY:
            raise Rejected("bad key", BAD_KEY)
        if not form.get("text") or form.get("type") not in {"text", "markdown", "image"}:
            raise Rejected(f"bad form {form}", Reply(200, {"code": 80501, "error": "参数错误"}))


CASE = ChannelCase(
    channel="pushdeer",
    fake=FakePushDeer,
    env=lambda url: {"DEER_KEY": KEY, "DEER_URL": f"{url}/message/push"},
    secrets=(KEY,),
    permanent_reason="pushkey不存在",
)
