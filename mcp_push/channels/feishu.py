"""Feishu / Lark custom bot (飞书机器人): POST open.feishu.cn/open-apis/bot/v2/hook/{FSKEY}.

The hook token sits in the URL path (a secret). With FSSECRET set, each message carries a
``timestamp`` and a ``sign`` in its JSON body. A message is an interactive card (schema 1.0):
a header coloured by event (red error, green end, blue ask, grey otherwise), the content as a
``markdown`` element, an "Open" button for the message's URL and the source line as a note;
the content is cut so the whole body stays under Feishu's 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    code_error,
    json_body,
    short_hash,
)

if TYPE_CHECKING:
    import httpx

HOOK = "https://open.feishu.cn/open-apis/bot/v2/hook/"
MAX_BODY_BYTES = 20 * 1024
FREQUENCY_WAIT = 3.0  # 11232: over 5/s or 100/min for this bot
HINTS = {
    9499: "the request was malformed or too large",
    19021: "check FSSECRET (签名校验) and this machine's clock",
    19022: "this machine's IP is not in the bot's IP whitelist",
    19024: "the message lacks the bot's custom keyword (自定义关键词)",
}


def sign(secret: str, timestamp: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b""))."""
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


class Feishu(HttpChannel):
    id = "feishu"
    name = "Feishu"
    settings = (
        Setting("FSKEY", required=True, secret=True, example="0a1b2c3d-4e5f-6789-abcd-ef0123456789"),
        Setting("FSSECRET", secret=True, example="bX9kZ2VzZWNyZXQxMjM0"),
    )
    dialect = "feishu"
    rate_limit = RateLimit(5, 1)  # per bot; the bot also allows at most 100 a minute

    def _url(self) -> str:
        key = self.get("FSKEY")
        return key if key.startswith(("http://", "https://")) else HOOK + key

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), self._url().rstrip("/").rpartition("/")[2]]

    def rate_key(self) -> str:
        return f"feishu:{short_hash(self._url())}"

    def request(self, message: Message) -> HttpRequest:
        payload: dict[str, Any] = {"msg_type": "interactive", "card": {}}
        if self.get("FSSECRET"):
            ts = int(time.time())
            payload.update(timestamp=str(ts), sign=sign(self.get("FSSECRET"), ts))
        body = self._fit(payload, message)
        return HttpRequest("POST", self._url(), content=body, headers={"Content-Type": "application/json"})

    def card(self, message: Message, content: str) -> dict[str, Any]:
        from mcp_push.render.priority import feishu_template

        title = " ".join(message.title.split()) or "mcp-push"
        elements: list[dict[str, Any]] = []
        if content.strip():
            elements.append({"tag": "markdown", "content": content})
        if message.url and message.url.startswith(("http://", "https://")):
            button = {"tag": "button", "text": {"tag": "plain_text", "content": "Open"}, "type": "primary"}
            elements.append({"tag": "action", "actions": [{**button, "url": message.url}]})
        if message.source:
            elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": message.source}]})
        if not elements:  # a card needs a body: the title again
            elements.append({"tag": "markdown", "content": self.inline(title)})
        return {
            "config": {"wide_screen_mode": True},
            "header": {"template": feishu_template(message.event), "title": {"tag": "plain_text", "content": title}},
            "elements": elements,
        }

    def _fit(self, payload: dict[str, Any], message: Message) -> bytes:
        """The JSON body with the content cut so the whole stays under 20 KB (escapes included)."""
        from mcp_push.render import fit, render

        rendered = render(message.content, self.dialect, "text" if message.format == "text" else "markdown")
        limit = MAX_BODY_BYTES
        while True:
            body = _encode({**payload, "card": self.card(message, fit(rendered, limit, "bytes"))})
            if len(body) <= MAX_BODY_BYTES or limit <= 0:
                return body
            limit = min(limit - 1, limit * MAX_BODY_BYTES // len(body))  # escapes grow in proportion

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", body.get("StatusCode", response.status_code))
        if code == 0:
            return Receipt()
        text = str(body.get("msg") or body.get("StatusMessage") or "")
        raise code_error(response, code, text, permanent=HINTS, rate_limited={11232: FREQUENCY_WAIT})


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
