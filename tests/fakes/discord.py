"""Discord webhooks (/api/webhooks/{id}/{token}?wait=true) with Discord's JSON error bodies."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

WEBHOOK_ID = "1234567890123456789"
HOOK_TOKEN = "Xy9-aBcD3eFgH4iJkL5mNoP6qRsT7uVwX8yZ0aBcD1eFgH2iJkL3mNoP4qRsT5uVw"
URL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{HOOK_TOKEN}"


class FakeDiscord(FakeProvider):
    replies = {
        "permanent": Reply(404, {"message": "Unknown Webhook", "code": 10015}),
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(
            429,
            {"message": "You are being rate limited.", "retry_after": 1.5, "global": False},
            {"Retry-After": "2", "X-RateLimit-Scope": "user"},
        ),
    }

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "ok":
            return Reply(200, {"id": "1187654321098765432", "channel_id": "1100", "content": request.json()["content"]})
        return self.replies[mode]

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/api/webhooks/{WEBHOOK_ID}/{HOOK_TOKEN}":
            raise Rejected(f"bad request line {request.method} {request.path}", self.replies["permanent"])
        if request.param("wait") != "true":
            raise Rejected("no wait=true", Reply(204, ""))
        content = request.json().get("content", "")
        if not content or len(content) > 2000:
            raise Rejected(
                f"content length {len(content)}",
                Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {"content": {}}}),
            )


CASE = ChannelCase(
    channel="discord",
    fake=FakeDiscord,
    env=lambda url: {"DISCORD_WEBHOOK_URL": URL, "MCP_PUSH_ORIGIN_DISCORD": url},
    secrets=(URL, HOOK_TOKEN),
    permanent_reason="Unknown Webhook",
    rate_wait=1.5,
)
