"""ntfy: POST {NTFY_URL}/{NTFY_TOPIC}, the message as the raw body, metadata in headers.

On public servers the topic works as a password, so it is treated as a secret.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import TYPE_CHECKING

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    code_error,
    json_body,
    truncate,
)
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 4096


def _seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _header_text(text: str) -> str:
    """A header value ntfy reads back as written: non-ASCII goes RFC 2047-encoded (ntfy decodes it).

    The original mcp-push encodes Title and Actions the same way; plain ASCII is sent as is.
    """
    one_line = " ".join(text.split())
    if one_line.isascii():
        return one_line
    from email.header import Header  # the email package only for a title that needs it, at send time

    return Header(one_line, "utf-8").encode(maxlinelen=10_000)


class Ntfy(HttpChannel):
    id = "ntfy"
    name = "ntfy"
    settings = (
        Setting("NTFY_TOPIC", required=True, secret=True, example="my-agent-alerts-5f2c"),
        Setting("NTFY_URL", example="https://ntfy.sh"),
        Setting("NTFY_PRIORITY", example="3"),
        Setting("NTFY_TOKEN", secret=True, example="tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"),
        Setting("NTFY_USERNAME", example="alice"),
        Setting("NTFY_PASSWORD", secret=True, example="secret"),
        Setting("NTFY_ACTIONS", example="view, Open CI, https://ci.example.com", text=True),
    )

    def request(self, message: Message) -> HttpRequest:
        base = self.get("NTFY_URL", "https://ntfy.sh").rstrip("/")
        headers = {"Title": _header_text(message.title), "Priority": self.get("NTFY_PRIORITY", "3")}
        if self.get("NTFY_ACTIONS"):
            headers["Actions"] = _header_text(self.get("NTFY_ACTIONS"))
        if self.get("NTFY_TOKEN"):
            headers["Authorization"] = f"Bearer {self.get('NTFY_TOKEN')}"
        elif self.get("NTFY_USERNAME") and self.get("NTFY_PASSWORD"):
            pair = f"{self.get('NTFY_USERNAME')}:{self.get('NTFY_PASSWORD')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        body = truncate(message.content or message.title, MAX_BODY_BYTES, unit="bytes")
        return HttpRequest("POST", f"{base}/{self.get('NTFY_TOPIC')}", content=body.encode(), headers=headers)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        if response.is_success:
            if body.get("id"):
                return Receipt(str(body["id"]))
            raise PermanentError(f"ntfy answered HTTP {response.status_code} without a message id")
        raise code_error(
            response,
            body.get("code", response.status_code),
            str(body.get("error", "")),
            # 42901: burst used up, refills one message per 5 s. 42908: daily quota, resets at midnight.
            rate_limited={42901: 5.0, 42908: _seconds_to_utc_midnight()},
        )
