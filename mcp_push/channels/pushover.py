"""Pushover: POST https://api.pushover.net/1/messages.json (form); success is ``status == 1``.

Plain text (Markdown removed), ``priority`` −1/0/1 by the message's level (2, emergency, needs
retry and expire parameters and is never sent) and the message's URL as ``url``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import TYPE_CHECKING

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    code_error,
    json_body,
    raise_for_http,
    truncate,
)
from mcp_push.channels.errors import RateLimitedError

if TYPE_CHECKING:
    import httpx

MAX_MESSAGE = 1024
MAX_TITLE = 250
MAX_URL = 512


def _seconds_to_quota_reset(response: httpx.Response) -> float:
    """The monthly quota resets at X-Limit-App-Reset (a Unix time), else at the next month."""
    raw = response.headers.get("X-Limit-App-Reset", "")
    if raw.isdigit():
        return float(max(0, math.ceil(int(raw) - time.time())))
    now = dt.datetime.now(dt.UTC)
    first = (now.replace(day=1) + dt.timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - now).total_seconds()


class Pushover(HttpChannel):
    id = "pushover"
    name = "Pushover"
    settings = (
        Setting("PUSHOVER_TOKEN", required=True, secret=True, example="azGDORePK8gMaC0QOYAMyEEuzJnyUi"),
        Setting("PUSHOVER_USER", required=True, secret=True, example="uQiRzpo4DXghDmr9QzzfQu27cmVRsG"),
    )

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest(
            "POST",
            "https://api.pushover.net/1/messages.json",
            data={
                "token": self.get("PUSHOVER_TOKEN"),
                "user": self.get("PUSHOVER_USER"),
                **self.fields(message),
            },
        )

    def fields(self, message: Message) -> dict[str, str]:
        from mcp_push.render.priority import PUSHOVER

        native = bool(message.url and len(message.url) <= MAX_URL)
        text = self.render_body(message, limit=MAX_MESSAGE, link=not native) or truncate(message.title, MAX_MESSAGE)
        found = {
            "title": truncate(message.title, MAX_TITLE),
            "message": text,
            "priority": str(PUSHOVER[self.level(message)]),
        }
        if native and message.url:
            found.update(url=message.url, url_title="Open")
        return found

    def interpret(self, response: httpx.Response) -> Receipt:
        if response.status_code == 429:
            raise RateLimitedError(
                "the application's monthly message quota is used up",
                code=429,
                retry_after=_seconds_to_quota_reset(response),
            )
        if response.status_code >= 500:
            raise_for_http(response)
        body = json_body(response)
        if body.get("status") == 1 and response.is_success:
            return Receipt(str(body.get("request") or "") or None)
        errors = body.get("errors")
        reason = "; ".join(map(str, errors)) if isinstance(errors, list) and errors else "status is not 1"
        raise code_error(response, response.status_code, reason)
