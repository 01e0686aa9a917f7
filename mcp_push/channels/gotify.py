"""Gotify: POST {GOTIFY_URL}/message with the app token in the X-Gotify-Key header."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

    def request(self, message: Message) -> HttpRequest:
        try:
            priority = int(self.get("GOTIFY_PRIORITY", "0"))
        except ValueError:
            priority = 0
        return HttpRequest(
            "POST",
            self.get("GOTIFY_URL").rstrip("/") + "/message",
            json={"title": message.title, "message": message.content or message.title, "priority": priority},
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
