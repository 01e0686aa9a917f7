"""bark-server's POST /push (the device key in the JSON body)."""

from __future__ import annotations

import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "DxHcxxxxxRxxxxxxcm7Q"
BAD_KEY = Reply(
    400, {"code": 400, "message": "failed to get device token: failed to get [x] device token from database"}
)


class FakeBark(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 200, "message": "success", "timestamp": int(time.time())}),
        "permanent": BAD_KEY,
        "transient": Reply(500, {"code": 500, "message": "push failed: APNs connection timed out"}),
        "rate_limited": Reply(429, "Too Many Requests", {"Retry-After": "2"}),
    }

    def __init__(self) -> None:
        super().__init__()
        self.group = "agents"

    def configure(self, env: dict[str, str]) -> None:
        self.group = env.get("BARK_GROUP", "")

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/push":
            raise Rejected(
                f"bad request line {request.method} {request.path}", Reply(404, {"code": 404, "message": "not found"})
            )
        body = request.json()
        if body.get("device_key") != KEY:
            raise Rejected("bad device key", BAD_KEY)
        if not body.get("body") and not body.get("title") and not body.get("markdown"):
            raise Rejected("empty", Reply(400, {"code": 400, "message": "request bind failed: body is empty"}))
        if body.get("level", "active") not in {"critical", "active", "timeSensitive", "passive"}:
            raise Rejected(f"level {body.get('level')!r}", Reply(400, {"code": 400, "message": "invalid level"}))
        if len(request.body) > 4096:
            raise Rejected(
                "over APNs' 4096 bytes", Reply(500, {"code": 500, "message": "push failed: PayloadTooLarge"})
            )
        if (body.get("group") or "") != self.group:
            raise Rejected(f"group {body.get('group')!r} is not BARK_GROUP {self.group!r}", self.replies["ok"])


CASE = ChannelCase(
    channel="bark",
    fake=FakeBark,
    env=lambda url: {"BARK_PUSH": f"{url}/{KEY}", "BARK_GROUP": "agents"},
    secrets=(KEY,),
    permanent_reason="device token",
    rate_wait=2.0,
)
