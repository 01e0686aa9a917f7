"""Aibotk (智能微秘书): POST api-bot.aibotk.com/openapi/v1/chat/{room|contact}, the API key in the body.

AIBOTK_TYPE=room sends to the group named AIBOTK_NAME; anything else to the contact of that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

API = "https://api-bot.aibotk.com/openapi/v1/chat"
TEXT = 1


class Aibotk(HttpChannel):
    id = "aibotk"
    name = "Aibotk"
    settings = (
        Setting("AIBOTK_KEY", required=True, secret=True, example="a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),
        Setting("AIBOTK_TYPE", required=True, example="room"),
        Setting("AIBOTK_NAME", required=True, example="Agent alerts", text=True),
    )

    def request(self, message: Message) -> HttpRequest:
        payload: dict[str, Any] = {
            "apiKey": self.get("AIBOTK_KEY"),
            "message": {"type": TEXT, "content": self.plain_text(message)},
        }
        if self.get("AIBOTK_TYPE").lower() == "room":
            return HttpRequest("POST", f"{API}/room", json={**payload, "roomName": self.get("AIBOTK_NAME")})
        return HttpRequest("POST", f"{API}/contact", json={**payload, "name": self.get("AIBOTK_NAME")})

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        if code == 0:
            return Receipt()
        raise code_error(response, code, str(body.get("error") or body.get("msg") or ""))
