"""PushMe: POST {PUSHME_URL or https://push.i-i.me/} with a form; the body text ``success`` means sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, excerpt, raise_for_http
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://push.i-i.me/"


class PushMe(HttpChannel):
    id = "pushme"
    name = "PushMe"
    settings = (
        Setting("PUSHME_KEY", required=True, secret=True, example="Ab3dEf6hIj9kLm2nOp5q"),
        Setting("PUSHME_URL", example=DEFAULT_URL),
    )

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.get("PUSHME_URL", DEFAULT_URL),
            data={"push_key": self.get("PUSHME_KEY"), "title": message.title, "content": self.render_body(message)},
        )

    def interpret(self, response: httpx.Response) -> Receipt:
        raise_for_http(response)
        if response.text.strip() == "success":
            return Receipt()
        # Any other 200 answer is PushMe's own error text (unknown key, empty title...).
        raise PermanentError(f"PushMe answered: {excerpt(response) or '(empty body)'}")
