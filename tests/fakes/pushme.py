"""PushMe (push.i-i.me): a form POST answered with plain text, ``success`` on success."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "Pm7xQ2wE9rT4yU1iO6pA"


class FakePushMe(FakeProvider):
    replies = {
        "ok": Reply(200, "success"),
        "permanent": Reply(200, "push_key error"),
        "transient": Reply(502, "Bad Gateway"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        form = request.form()
        if form.get("push_key") != KEY:
            raise Rejected("bad push_key", Reply(200, "push_key error"))
        if not form.get("title"):
            raise Rejected("no title", Reply(200, "title is empty"))


CASE = ChannelCase(
    channel="pushme",
    fake=FakePushMe,
    env=lambda url: {"PUSHME_KEY": KEY, "MCP_PUSH_ORIGIN_PUSHME": url},
    secrets=(KEY,),
    permanent_reason="push_key error",
)
