"""Synology Chat's incoming webhook (entry.cgi ... &token=), which answers HTTP 200 even on errors."""

from __future__ import annotations

import json

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "%22Kq8vT3mZp1XwLr9Ys4Hb%22"
PLAIN_TOKEN = "Kq8vT3mZp1XwLr9Ys4Hb"
QUERY = {"api": "SYNO.Chat.External", "method": "incoming", "version": "2"}


def _error(code: int, errors: object = None) -> Reply:
    error: dict[str, object] = {"code": code}
    if errors is not None:
        error["errors"] = errors
    return Reply(200, {"error": error, "success": False})


class FakeSynologyChat(FakeProvider):
    replies = {
        "ok": Reply(200, {"success": True}),
        "permanent": _error(404, "invalid token"),
        "transient": Reply(503, "<html>503 Service Unavailable</html>"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/webapi/entry.cgi":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        if any(request.param(k) != v for k, v in QUERY.items()):
            raise Rejected(f"bad query {request.query}", _error(103))
        if request.param("token") != f'"{PLAIN_TOKEN}"':
            raise Rejected("bad token", _error(404, "invalid token"))
        try:
            payload = json.loads(request.form().get("payload", ""))
        except ValueError:
            raise Rejected("payload is not JSON", _error(120, {"name": "payload", "reason": "required"})) from None
        if not isinstance(payload, dict) or not payload.get("text"):
            raise Rejected("no text", _error(120, {"name": "payload", "reason": "required"}))


CASE = ChannelCase(
    channel="synology_chat",
    fake=FakeSynologyChat,
    env=lambda url: {
        "CHAT_URL": f"{url}/webapi/entry.cgi?api=SYNO.Chat.External&method=incoming&version=2&token=",
        "CHAT_TOKEN": TOKEN,
    },
    secrets=(TOKEN, PLAIN_TOKEN),
    permanent_reason="invalid token",
)
