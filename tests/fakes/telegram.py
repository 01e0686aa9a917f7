"""Telegram Bot API sendMessage, as api.telegram.org answers it."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "1407203283:AAG9rt-6RDaaX0HBLZQq0laNOh898iFYaRQ"
CHAT = "1434078534"


class FakeTelegram(FakeProvider):
    replies = {
        "ok": Reply(200, {"ok": True, "result": {"message_id": 42, "chat": {"id": int(CHAT)}, "date": 1700000000}}),
        "permanent": Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        ),
    }

    def check(self, request: Recorded) -> None:
        if request.path != f"/bot{TOKEN}/sendMessage":
            raise Rejected(
                f"bad path {request.path}", Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            )
        body = request.json()
        if str(body.get("chat_id")) != CHAT or not body.get("text"):
            raise Rejected(
                "missing chat_id/text",
                Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}),
            )
        if len(body["text"]) > 4096:
            raise Rejected(
                "text too long",
                Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}),
            )


CASE = ChannelCase(
    channel="telegram",
    fake=FakeTelegram,
    env=lambda url: {"TG_BOT_TOKEN": TOKEN, "TG_USER_ID": CHAT, "MCP_PUSH_ORIGIN_TELEGRAM": url},
    secrets=(TOKEN, TOKEN.split(":")[1]),
    permanent_reason="chat not found",
    rate_wait=3.0,
)
