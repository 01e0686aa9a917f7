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
            return Reply(
                200,
                {
                    "id": "1187654321098765432",
                    "channel_id": "1100",
                    "content": request.json().get("content", ""),
                    "embeds": request.json().get("embeds", []),
                },
            )
        return self.replies[mode]

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/api/webhooks/{WEBHOOK_ID}/{HOOK_TOKEN}":
            raise Rejected(f"bad request line {request.method} {request.path}", self.replies["permanent"])
        if request.param("wait") != "true":
            raise Rejected("no wait=true", Reply(204, ""))
        body = request.json()
        problem = _payload_problem(body)
        if problem:
            raise Rejected(problem, Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}}))


LIMITS = {"title": 256, "description": 4096, "footer": 2048, "field name": 256, "field value": 1024}


def _payload_problem(body: dict) -> str | None:
    """Discord's limits: content ≤2000; ≤10 embeds; title 256, description 4096, ≤25 fields (name 256,
    value 1024), footer 2048, 6,000 characters per message in all; something to show."""
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    if len(content) > 2000:
        return f"content length {len(content)}"
    if not content and not embeds:
        return "neither content nor embeds"
    if len(embeds) > 10:
        return "more than 10 embeds"
    total = 0
    for embed in embeds:
        parts = {
            "title": embed.get("title", ""),
            "description": embed.get("description", ""),
            "footer": (embed.get("footer") or {}).get("text", ""),
        }
        fields = embed.get("fields") or []
        if len(fields) > 25:
            return "more than 25 fields"
        for name, value in parts.items():
            if len(value) > LIMITS[name]:
                return f"embed {name} over {LIMITS[name]}"
            total += len(value)
        for field in fields:
            if not field.get("name") or not field.get("value"):
                return "a field without name or value"
            if len(field["name"]) > 256 or len(field["value"]) > 1024:
                return "a field over its limit"
            total += len(field["name"]) + len(field["value"])
        if not isinstance(embed.get("color", 0), int) or not 0 <= embed.get("color", 0) <= 0xFFFFFF:
            return "embed color is not a 24-bit integer"
        if "url" in embed and not str(embed["url"]).startswith(("http://", "https://")):
            return "embed url is not http(s)"
    if total > 6000:
        return f"embeds total {total} characters, over 6000"
    return None


CASE = ChannelCase(
    channel="discord",
    fake=FakeDiscord,
    env=lambda url: {"DISCORD_WEBHOOK_URL": URL, "MCP_PUSH_ORIGIN_DISCORD": url},
    secrets=(URL, HOOK_TOKEN),
    permanent_reason="Unknown Webhook",
    rate_wait=1.5,
)
