"""WxPusher's /api/send/message endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

APP_TOKEN = "AT_qHT0cTQfLwYOlBV9cJj9zDSyEmspsmyM"
UID = "UID_xrLpQ1nW3bC5dE7fG9hJ2kM4"
BAD_TOKEN = Reply(200, {"code": 1002, "msg": "appToken不正确或者应用已经被关闭", "data": None, "success": False})


class FakeWxPusher(FakeProvider):
    replies = {
        "ok": Reply(
            200,
            {
                "code": 1000,
                "msg": "处理成功",
                "data": [
                    {"uid": UID, "topicId": None, "messageId": 8712, "messageContentId": 5123, "code": 1000},
                    {"uid": None, "topicId": 123, "messageId": 8713, "messageContentId": 5123, "code": 1000},
                ],
                "success": True,
            },
        ),
        "permanent": BAD_TOKEN,
        "transient": Reply(200, {"code": 1009, "msg": "服务器繁忙，请稍后重试", "data": None, "success": False}),
        "rate_limited": Reply(200, {"code": 1008, "msg": "请求过于频繁，请稍后重试", "data": None, "success": False}),
    }

    def __init__(self) -> None:
        super().__init__()
        self.unreached: dict[str, tuple[int, str]] = {}  # uid or str(topicId) -> (code, status) in ``data``

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        """One result per recipient asked, as WxPusher answers; those in ``unreached`` with their code."""
        if mode != "ok":
            return self.replies[mode]
        body = request.json()
        asked = [(uid, None) for uid in body.get("uids") or []] + [(None, t) for t in body.get("topicIds") or []]
        data = []
        for n, (uid, topic) in enumerate(asked):
            code, status = self.unreached.get(uid or str(topic), (1000, "发送成功"))
            data.append(
                {
                    "uid": uid,
                    "topicId": topic,
                    "messageId": 8712 + n,
                    "messageContentId": 5123,
                    "code": code,
                    "status": status,
                }
            )
        return Reply(200, {"code": 1000, "msg": "处理成功", "data": data, "success": True})

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/api/send/message":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        body = request.json()
        if body.get("appToken") != APP_TOKEN:
            raise Rejected("bad app token", BAD_TOKEN)
        uids, topics = body.get("uids"), body.get("topicIds")
        if not set(uids or []) <= {UID} or not set(topics or []) <= {123} or not (uids or topics):
            raise Rejected(f"bad targets {body}", Reply(200, {"code": 1004, "msg": "用户或主题不存在"}))
        if not body.get("content") or len(body["content"]) > 40_000 or len(body.get("summary") or "") > 100:
            raise Rejected("content or summary too long", Reply(200, {"code": 1007, "msg": "内容过长"}))
        if body.get("contentType") not in (1, 2, 3):
            raise Rejected("bad contentType", Reply(200, {"code": 1003, "msg": "contentType不正确"}))


CASE = ChannelCase(
    channel="wxpusher",
    fake=FakeWxPusher,
    env=lambda url: {
        "WXPUSHER_APP_TOKEN": APP_TOKEN,
        "WXPUSHER_UIDS": UID,
        "WXPUSHER_TOPIC_IDS": "123",
        "MCP_PUSH_ORIGIN_WXPUSHER": url,
    },
    secrets=(APP_TOKEN,),
    permanent_reason="appToken不正确",
    rate_wait=1.0,
)
