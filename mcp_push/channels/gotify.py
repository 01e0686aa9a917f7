"""Gotify: POST {GOTIFY_URL}/message with the app token in the X-Gotify-Key header.

The content is Markdown (``extras.client::display.contentType = text/markdown``), the priority
follows the message's level (GOTIFY_PRIORITY, when set, is the priority of a ``normal`` one) and
the message's URL opens on a tap (``extras.client::notification.click.url``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    json_body,
    raise_for_http,
)
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx


class Gotify(HttpChannel):
    id = "gotify"
    name = "Gotify"
    settings = (
        Setting("GOTIFY_URL", required=True, example="https://push.example.com"),
        Setting("GOTIFY_TOKEN", required=True, secret=True, example="AbCdEf123456"),
        Setting("GOTIFY_PRIORITY", example="0"),
    )

    dialect = "gotify"

    def priority(self, message: Message) -> int:
        from mcp_push.render.priority import GOTIFY

        level = self.level(message)
        if level == "normal" and self.get("GOTIFY_PRIORITY"):
            try:
                return int(self.get("GOTIFY_PRIORITY"))
            except ValueError:
                pass
        return GOTIFY[level]

    def request(self, message: Message) -> HttpRequest:
        extras: dict[str, Any] = {"client::display": {"contentType": "text/markdown"}}
        if message.url and message.url.startswith(("http://", "https://")):
            extras["client::notification"] = {"click": {"url": message.url}}
        payload = {
            "title": message.title,
            "message": self.render_body(message) or self.inline(message.title),
            "priority": self.priority(message),
            "extras": extras,
        }
        return HttpRequest(
            "POST",
            self.get("GOTIFY_URL").rstrip("/") + "/message",
            json=payload,
            headers={"X-Gotify-Key": self.get("GOTIFY_TOKEN")},
        )

    def interpret(self, response: httpx.Response) -> Receipt:
        if not response.is_success:
            raise_for_http(response, _error_reason(response))
        body = json_body(response)
        if body.get("id") is None:
            raise PermanentError(f"Gotify answered HTTP {response.status_code} without a message id")
        return Receipt(str(body["id"]))


def _error_reason(response: httpx.Response) -> str | None:
    """Gotify errors carry {error, errorCode, errorDescription}: keep the readable part."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("errorDescription"):
        return f"{body.get('error', 'error')}: {body['errorDescription']}"
    return None
