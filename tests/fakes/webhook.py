"""A custom webhook receiver that wants a bearer token and a JSON body."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

SECRET = "whsec-9f8e7d6c5b4a"


class FakeWebhook(FakeProvider):
    replies = {
        "ok": Reply(200, "ok"),
        "permanent": Reply(404, {"error": "no such hook"}),
        "transient": Reply(503, "try later"),
        "rate_limited": Reply(429, "slow down", {"Retry-After": "2"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/hook":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(405, "method not allowed"))
        if request.headers.get("authorization") != f"Bearer {SECRET}":
            raise Rejected("bad auth", Reply(401, "unauthorized"))
        body = request.json()
        if not body.get("title") or not body.get("text") or body.get("source") != "mcp-push":
            raise Rejected(f"bad body {body}", Reply(400, "bad body"))
        if request.param("t") is None:
            raise Rejected("no $title in query", Reply(400, "missing t"))


CASE = ChannelCase(
    channel="webhook",
    fake=FakeWebhook,
    env=lambda url: {
        "WEBHOOK_URL": f"{url}/hook?t=$title",
        "WEBHOOK_METHOD": "POST",
        "WEBHOOK_CONTENT_TYPE": "application/json",
        "WEBHOOK_HEADERS": f"Authorization: Bearer {SECRET}",
        "WEBHOOK_BODY": 'title: $title\ntext: $content\nsource: "mcp-push"',
    },
    secrets=(SECRET,),
    permanent_reason="no such hook",
    rate_wait=2.0,
)
