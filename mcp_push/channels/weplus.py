"""WePlusBot (微加机器人): POST www.weplusbot.com/send, the token in the JSON body. Success is ``code == 200``."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

API = "https://www.weplusbot.com/send"
HTML_ABOVE = 800  # QingLong switches to the html template for longer content


class WePlusBot(HttpChannel):
    id = "weplus"
    name = "WePlusBot"
    settings = (
        Setting("WE_PLUS_BOT_TOKEN", required=True, secret=True, example="ab12cd34ef56ab78cd90ef12ab34cd56"),
        Setting("WE_PLUS_BOT_RECEIVER", example="wxid_abc123"),
        Setting("WE_PLUS_BOT_VERSION", example="pro"),
    )

    def request(self, message: Message) -> HttpRequest:
        content, template = self.render_body(message) or message.title, "txt"
        if len(content) > HTML_ABOVE:
            content, template = html.escape(content).replace("\n", "<br>"), "html"
        payload = {
            "token": self.get("WE_PLUS_BOT_TOKEN"),
            "title": message.title,
            "content": content,
            "template": template,
            "receiver": self.get("WE_PLUS_BOT_RECEIVER"),
            "version": self.get("WE_PLUS_BOT_VERSION", "pro"),
        }
        return HttpRequest("POST", API, json=payload)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        if code == 200 and response.is_success:
            return Receipt(str(body["data"]) if isinstance(body.get("data"), str | int) else None)
        raise code_error(response, code, str(body.get("msg") or body.get("message") or ""))
