"""WeCom group robot (企业微信群机器人): POST {QYWX_ORIGIN}/cgi-bin/webhook/send?key=QYWX_KEY.

The robot key travels in the query string: a secret. Messages are ``markdown`` (at most
4,096 UTF-8 bytes): the title as a heading coloured by event (WeCom's ``info`` green for an
end, ``warning`` for an error, ``comment`` grey otherwise), the content, the link and the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

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

DEFAULT_ORIGIN = "https://qyapi.weixin.qq.com"
MAX_MARKDOWN_BYTES = 4096
COLOURS = {"end": "info", "error": "warning"}
THROTTLE_SECONDS = 60.0  # 45009: over 20 messages a minute for this robot
HINTS = {
    93000: "check QYWX_KEY: the robot was removed or the key is wrong (copy it from the robot's webhook URL)",
    40008: "the message type was refused",
}


class WeComBot(HttpChannel):
    id = "wecom_bot"
    name = "WeCom group robot"
    settings = (
        Setting("QYWX_KEY", required=True, secret=True, example="693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"),
        Setting("QYWX_ORIGIN", example="https://qyapi.weixin.qq.com"),
    )
    dialect = "wecom_markdown"
    rate_limit = RateLimit(20, 60)  # per robot

    def key(self) -> str:
        """QYWX_KEY, or the key of a whole webhook URL pasted into it."""
        raw = self.get("QYWX_KEY")
        if "key=" in raw:
            return (parse_qs(urlsplit(raw).query).get("key") or [raw])[0]
        return raw

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), self.key()]

    def rate_key(self) -> str:
        return f"wecom_bot:{short_hash(self.key())}"

    def request(self, message: Message) -> HttpRequest:
        origin = self.get("QYWX_ORIGIN", DEFAULT_ORIGIN).rstrip("/")
        title = self.inline(message.title)
        colour = COLOURS.get(message.event or "", "comment")
        head = f'### <font color="{colour}">{title}</font>\n' if title else ""
        room = MAX_MARKDOWN_BYTES - len(head.encode())
        content = head + self.render_body(message, limit=room, unit="bytes")
        return HttpRequest(
            "POST",
            f"{origin}/cgi-bin/webhook/send",
            params={"key": self.key()},
            json={"msgtype": "markdown", "markdown": {"content": content}},
        )

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("errcode", response.status_code)
        if code == 0:
            return Receipt()
        text = str(body.get("errmsg", ""))
        raise code_error(
            response, code, text, permanent=HINTS, transient={-1: None}, rate_limited={45009: THROTTLE_SECONDS}
        )
