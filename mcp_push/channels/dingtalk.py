"""DingTalk custom robot (钉钉机器人): POST oapi.dingtalk.com/robot/send, signed with the robot's secret.

The access token and the signature travel in the query string, so both are secrets. A message
is a ``markdown`` message (``title`` is what the chat list shows, ``text`` repeats it as a
heading above the content); with a URL it is an ``actionCard`` whose single button opens it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

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
from mcp_push.render import clip

if TYPE_CHECKING:
    import httpx

API = "https://oapi.dingtalk.com/robot/send"
MAX_TITLE = 100  # what the chat list shows; longer titles are cut there anyway
MAX_TEXT_BYTES = 20000  # DingTalk refuses a robot message much above 20 KB
THROTTLE_SECONDS = 600.0  # 130101: the robot is throttled for 10 minutes
HINTS = {
    300001: "check DD_BOT_TOKEN (the access_token of the robot's webhook URL)",
    310000: "check DD_BOT_SECRET (the robot's 加签 secret), its keyword and IP settings",
}


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalk(HttpChannel):
    id = "dingtalk"
    name = "DingTalk"
    settings = (
        Setting("DD_BOT_TOKEN", required=True, secret=True, example="a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4"),
        Setting("DD_BOT_SECRET", required=True, secret=True, example="SEC0123456789abcdef0123456789abcdef"),
    )
    dialect = "dingtalk_markdown"
    rate_limit = RateLimit(20, 60)  # per robot; exceeding it blocks the robot for 10 minutes

    def rate_key(self) -> str:
        return f"dingtalk:{short_hash(self.get('DD_BOT_TOKEN'))}"

    def request(self, message: Message) -> HttpRequest:
        ts = int(time.time() * 1000)
        token = quote_plus(self.get("DD_BOT_TOKEN"))
        url = f"{API}?access_token={token}&timestamp={ts}&sign={sign(self.get('DD_BOT_SECRET'), ts)}"
        return HttpRequest("POST", url, json=self.payload(message))

    def payload(self, message: Message) -> dict[str, Any]:
        title = clip(message.title, MAX_TITLE) or "mcp-push"
        head = f"#### {self.inline(title)}\n\n"
        room = MAX_TEXT_BYTES - len(head.encode())
        button = bool(message.url and message.url.startswith(("http://", "https://")))
        text = head + self.render_body(message, limit=room, unit="bytes", link=not button)
        if button:
            card = {"title": title, "text": text, "btnOrientation": "0", "singleTitle": "Open"}
            return {"msgtype": "actionCard", "actionCard": {**card, "singleURL": message.url}}
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("errcode", response.status_code)
        if code == 0:
            return Receipt()
        text = str(body.get("errmsg", ""))
        raise code_error(
            response, code, text, permanent=HINTS, transient={-1: None}, rate_limited={130101: THROTTLE_SECONDS}
        )
