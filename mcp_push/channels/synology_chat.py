"""Synology Chat incoming webhook: POST {CHAT_URL}{CHAT_TOKEN} with a form field ``payload`` (JSON).

The token ends the URL, so it is redacted everywhere; Synology answers HTTP 200 even on
failure, and only ``{"success": true}`` means the post was made.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

HINTS = {120: "the payload field was missing or not valid JSON"}


class SynologyChat(HttpChannel):
    id = "synology_chat"
    name = "Synology Chat"
    settings = (
        Setting(
            "CHAT_URL",
            required=True,
            example="https://nas.example.com:5001/webapi/entry.cgi?api=SYNO.Chat.External&method=incoming&version=2&token=",
        ),
        Setting("CHAT_TOKEN", required=True, secret=True, example="%22k9QmVh3LxT2...%22"),
    )

    def secret_values(self) -> list[str]:
        token = self.get("CHAT_TOKEN")
        plain = unquote(token)
        return [*super().secret_values(), plain, plain.strip('"')]

    def request(self, message: Message) -> HttpRequest:
        payload = json.dumps({"text": self.plain_text(message)}, ensure_ascii=False)
        return HttpRequest("POST", self.get("CHAT_URL") + self.get("CHAT_TOKEN"), data={"payload": payload})

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        if body.get("success") is True and response.is_success:
            return Receipt()
        error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
        code = error.get("code", response.status_code)
        detail = error.get("errors")
        if isinstance(detail, dict):
            detail = " ".join(f"{k}={v}" for k, v in detail.items())
        parts = [str(part) for part in (detail, HINTS.get(code)) if part]
        raise code_error(response, code, "; ".join(parts) or "Synology Chat answered success=false")
