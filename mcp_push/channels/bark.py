"""Bark: POST {server}/push with the device key in the JSON body (kept out of the URL).

BARK_PUSH is either a bare device key (api.day.app) or a URL ending in the key
(self-hosted bark-server), as QingLong accepts. The content goes as ``markdown`` (Bark renders
it; ``body`` carries a plain copy for servers older than Markdown support), ``level`` follows
the message's priority (BARK_LEVEL, when set, is the level of a ``normal`` one) and the
message's URL, else BARK_URL, opens on a tap. APNs takes 4 KB: both texts are cut to fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

DEFAULT_SERVER = "https://api.day.app"
OPTIONS = {
    "BARK_ARCHIVE": "isArchive",
    "BARK_GROUP": "group",
    "BARK_SOUND": "sound",
    "BARK_ICON": "icon",
    "BARK_LEVEL": "level",
    "BARK_URL": "url",
}

MAX_BODY_BYTES = 1000
MAX_MARKDOWN_BYTES = 2400  # with the body, the title and the rest, under APNs' 4096 bytes
TEXT_OPTIONS = {"BARK_GROUP"}  # a name the user picks; the others are URLs or fixed words


class Bark(HttpChannel):
    id = "bark"
    name = "Bark"
    dialect = "bark"
    settings = (
        Setting("BARK_PUSH", required=True, secret=True, example="https://api.day.app/DxHcxxxxxRxxxxxxcm"),
        *(Setting(name, text=name in TEXT_OPTIONS) for name in OPTIONS),
    )

    def _server_and_key(self) -> tuple[str, str]:
        push = self.get("BARK_PUSH").rstrip("/")
        if push.startswith(("http://", "https://")):
            server, _, key = push.rpartition("/")
            return server, key
        return DEFAULT_SERVER, push

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), self._server_and_key()[1]]

    def request(self, message: Message) -> HttpRequest:
        server, key = self._server_and_key()
        from mcp_push.render.priority import bark_level

        payload: dict[str, object] = {"device_key": key, "title": message.title}
        body = self.render_body(message, limit=MAX_BODY_BYTES, unit="bytes", dialect="plain", link=False)
        markdown = self.render_body(message, limit=MAX_MARKDOWN_BYTES, unit="bytes", link=False)
        if body:
            payload.update(body=body, markdown=markdown)
        for variable, field in OPTIONS.items():
            if self.get(variable):
                payload[field] = self.get(variable)
        level = self.level(message)
        if level != "normal" or not self.get("BARK_LEVEL"):
            payload["level"] = bark_level(level, self.env)
        if message.url:
            payload["url"] = message.url
        if payload.get("isArchive") is not None:
            payload["isArchive"] = 1 if str(payload["isArchive"]).lower() in {"1", "true", "yes"} else 0
        return HttpRequest("POST", f"{server}/push", json=payload)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        if response.is_success and body.get("code") == 200:
            return Receipt()
        code = body.get("code", response.status_code)
        message = str(body.get("message", ""))
        # A 500 is an APNs failure: worth retrying unless APNs says the device is gone for good.
        if "BadDeviceToken" in message or "Unregistered" in message:
            raise PermanentError(f"{message} (code {code}); re-copy the device key from the Bark app", code=code)
        raise code_error(response, code, message, transient={500: None})
