"""iGot: POST push.hellyw.com/{IGOT_PUSH_KEY}, form ``title`` and ``content``. Success is ``ret == 0``.

The key travels in the URL path: a secret. Whether the service still runs is unconfirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

API = "https://push.hellyw.com"


class IGot(HttpChannel):
    id = "igot"
    name = "iGot"
    settings = (Setting("IGOT_PUSH_KEY", required=True, secret=True, example="5f3c1a2b4d6e8f0a1b2c3d4e"),)

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest(
            "POST",
            f"{API}/{self.get('IGOT_PUSH_KEY')}",
            data={"title": message.title, "content": self.render_body(message) or message.title},
        )

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("ret", response.status_code)
        if code == 0:
            return Receipt()
        raise code_error(response, code, str(body.get("errMsg", "")))
