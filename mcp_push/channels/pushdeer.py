"""PushDeer: POST {DEER_URL or api2.pushdeer.com/message/push}, the push key in the form body; ``desp`` is Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

API = "https://api2.pushdeer.com/message/push"


class PushDeer(HttpChannel):
    id = "pushdeer"
    name = "PushDeer"
    dialect = "pushdeer"
    settings = (
        Setting("DEER_KEY", required=True, secret=True, example="PDU1234TAbCdEfGhIjKlMnOpQrStUvWxYz01234"),
        Setting("DEER_URL", example="https://api2.pushdeer.com/message/push"),
    )

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.get("DEER_URL", API),
            data={
                "pushkey": self.get("DEER_KEY"),
                "text": message.title,
                "desp": self.render_body(message),
                "type": "markdown",
            },
        )

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        content = body.get("content") if isinstance(body.get("content"), dict) else {}
        if code == 0:
            if content.get("result"):
                return Receipt()
            raise PermanentError("PushDeer accepted the key but reached no device; open the PushDeer app and log in")
        text = str(body.get("error") or body.get("message") or "")
        raise code_error(response, code, text, transient={80502: None})
