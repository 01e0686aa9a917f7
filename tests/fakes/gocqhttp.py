"""go-cqhttp's OneBot v11 HTTP API (send_private_msg), with an access token required."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "cq-access-7f3a91d2e8"
QQ = "123456789"


def _failed(retcode: int, msg: str, wording: str) -> Reply:
    return Reply(200, {"status": "failed", "retcode": retcode, "data": None, "msg": msg, "wording": wording})


class FakeGoCqHttp(FakeProvider):
    replies = {
        "ok": Reply(200, {"status": "ok", "retcode": 0, "data": {"message_id": -2147480000}, "msg": "", "wording": ""}),
        "permanent": _failed(100, "SEND_MSG_API_ERROR", "请参考 go-cqhttp 端输出"),
        "transient": Reply(502, "Bad Gateway"),
    }

    def check(self, request: Recorded) -> None:
        if request.path != "/send_private_msg":
            raise Rejected(f"bad path {request.path}", Reply(404, ""))
        auth = request.headers.get("authorization")
        if auth is None and request.param("access_token") is None:
            raise Rejected("no token", Reply(401, ""))
        if auth != f"Bearer {TOKEN}" or request.param("access_token") is not None:
            raise Rejected("wrong token or token in the URL", Reply(403, ""))
        body = request.json()
        if str(body.get("user_id")) != QQ or not body.get("message"):
            raise Rejected("missing user_id/message", _failed(100, "missing param", "user_id and message are required"))


CASE = ChannelCase(
    channel="gocqhttp",
    fake=FakeGoCqHttp,
    env=lambda url: {"GOBOT_URL": f"{url}/send_private_msg", "GOBOT_QQ": f"user_id={QQ}", "GOBOT_TOKEN": TOKEN},
    secrets=(TOKEN,),
    permanent_reason="SEND_MSG_API_ERROR",
)
