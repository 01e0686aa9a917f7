"""WeCom's group-robot webhook (cgi-bin/webhook/send?key=...)."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

LIMITS = {"text": 2048, "markdown": 4096}  # UTF-8 bytes of the content
KEY = "693a91f6-7b2c-4bc4-97a0-0ec2f1a5a9e3"
INVALID_URL = Reply(
    200,
    {
        "errcode": 93000,
        "errmsg": "invalid webhook url, hint: [1700000000_abc], more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
    },
)


class FakeWeComBot(FakeProvider):
    replies = {
        "ok": Reply(200, {"errcode": 0, "errmsg": "ok"}),
        "permanent": INVALID_URL,
        "transient": Reply(200, {"errcode": -1, "errmsg": "system busy"}),
        "rate_limited": Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/cgi-bin/webhook/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        if request.param("key") != KEY:
            raise Rejected("bad key", INVALID_URL)
        body = request.json()
        kind = body.get("msgtype")
        content = (body.get(kind) or {}).get("content") or "" if kind in LIMITS else ""
        if not content:
            raise Rejected(f"bad body {body}", Reply(200, {"errcode": 40008, "errmsg": "invalid message type"}))
        if len(content.encode()) > LIMITS[kind]:
            raise Rejected(
                f"{kind} content over {LIMITS[kind]} bytes",
                Reply(200, {"errcode": 40058, "errmsg": "content exceed max length"}),
            )


CASE = ChannelCase(
    channel="wecom_bot",
    fake=FakeWeComBot,
    env=lambda url: {"QYWX_KEY": KEY, "QYWX_ORIGIN": url},
    secrets=(KEY,),
    permanent_reason="invalid webhook url",
    rate_wait=60.0,
)
