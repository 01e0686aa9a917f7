"""PushPlus (推送加): POST www.pushplus.plus/send with the token in the JSON body.

``code == 200`` means accepted: PushPlus delivers asynchronously, ``data`` is its serial number.
The template is ``markdown`` unless PUSH_PLUS_TEMPLATE says otherwise: ``html`` gets the content
as escaped HTML, ``txt`` (and any other) as plain text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

API = "https://www.pushplus.plus/send"
OPTIONS = {
    "PUSH_PLUS_USER": "topic",
    "PUSH_PLUS_CHANNEL": "channel",
    "PUSH_PLUS_WEBHOOK": "webhook",
    "PUSH_PLUS_CALLBACKURL": "callbackUrl",
    "PUSH_PLUS_TO": "to",
}
DIALECTS = {"markdown": "pushplus", "html": "email_html"}
HINTS = {
    907: "check PUSH_PLUS_TOKEN (copy it from pushplus.plus → 一对一推送)",
    908: "the PushPlus account is blocked",
    905: "check the PUSH_PLUS_* options",
    909: "the content failed PushPlus's content review",
    912: "the chosen PUSH_PLUS_CHANNEL needs a PushPlus service package",
    888: "the PushPlus account has run out of credits",
}


class PushPlus(HttpChannel):
    id = "pushplus"
    name = "PushPlus"
    settings = (
        Setting("PUSH_PLUS_TOKEN", required=True, secret=True, example="0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        Setting("PUSH_PLUS_USER", example="agents"),
        Setting("PUSH_PLUS_TEMPLATE", example="txt"),
        Setting("PUSH_PLUS_CHANNEL", example="wechat"),
        Setting("PUSH_PLUS_WEBHOOK", example="feishu-team"),
        Setting("PUSH_PLUS_CALLBACKURL", example="https://example.com/pushplus-callback"),
        Setting("PUSH_PLUS_TO", example="friend-token-1,friend-token-2"),
    )

    def request(self, message: Message) -> HttpRequest:
        template = self.get("PUSH_PLUS_TEMPLATE", "markdown")
        payload: dict[str, Any] = {
            "token": self.get("PUSH_PLUS_TOKEN"),
            "title": message.title,
            "content": self.render_body(message, dialect=DIALECTS.get(template, "plain")) or message.title,
            # Markdown by default, rendered safely: an agent's text is never taken as HTML.
            "template": template,
        }
        for variable, key in OPTIONS.items():
            if self.get(variable):
                payload[key] = self.get(variable)
        return HttpRequest("POST", API, json=payload)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        if code == 200 and response.is_success:
            return Receipt(str(body["data"]) if body.get("data") else None)
        text = str(body.get("msg", ""))
        raise code_error(response, code, text, permanent=HINTS, transient={500: None, 903: None})
