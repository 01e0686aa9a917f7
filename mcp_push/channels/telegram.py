"""Telegram Bot API sendMessage. The bot token travels in the URL path: always redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    code_error,
    json_body,
    truncate,
)
from mcp_push.channels.errors import PermanentError
from mcp_push.channels.redact import split_userinfo

if TYPE_CHECKING:
    import httpx

MAX_TEXT = 4096


class Telegram(HttpChannel):
    id = "telegram"
    name = "Telegram"
    settings = (
        Setting("TG_BOT_TOKEN", required=True, secret=True, example="1407203283:AAG9rt-6RDaaX0HBLZQq0laNOh898iFYaRQ"),
        Setting("TG_USER_ID", required=True, example="1434078534"),
        Setting("TG_API_HOST", example="https://api.telegram.org"),
        Setting("TG_PROXY_HOST", example="127.0.0.1"),
        Setting("TG_PROXY_PORT", example="7890"),
        Setting("TG_PROXY_AUTH", secret=True, example="user:password"),
    )
    rate_limit = RateLimit(1, 1.0)  # about one message a second per chat

    def rate_key(self) -> str:
        return f"telegram:{self.get('TG_USER_ID')}"

    def secret_values(self) -> list[str]:
        # TG_PROXY_HOST may be written user:password@host, as QingLong allows.
        return [*super().secret_values(), split_userinfo(self.get("TG_PROXY_HOST"))[2]]

    def proxy(self) -> str | None:
        host, port = self.get("TG_PROXY_HOST"), self.get("TG_PROXY_PORT")
        if not (host and port):
            return None
        auth = self.get("TG_PROXY_AUTH")
        if auth and "@" not in host:
            host = f"{auth}@{host}"
        return f"http://{host}:{port}"

    def _request_to(self, chat_id: str, message: Message) -> HttpRequest:
        base = self.get("TG_API_HOST", "https://api.telegram.org").rstrip("/")
        return HttpRequest(
            "POST",
            f"{base}/bot{self.get('TG_BOT_TOKEN')}/sendMessage",
            json={"chat_id": chat_id, "text": truncate(message.text, MAX_TEXT), "disable_web_page_preview": True},
        )

    def request(self, message: Message) -> HttpRequest:
        return self._request_to(self.get("TG_USER_ID"), message)

    def send(self, message: Message) -> Receipt:
        response = self.perform(self.request(message))
        body = json_body(response)
        migrated = (body.get("parameters") or {}).get("migrate_to_chat_id")
        if not body.get("ok") and migrated:
            # The group became a supergroup: Telegram asks for one resend to its new id.
            response = self.perform(self._request_to(str(migrated), message))
        return self.interpret(response)

    def interpret(self, response: httpx.Response) -> Receipt:
        body: dict[str, Any] = json_body(response)
        if body.get("ok") is True:
            return Receipt(str((body.get("result") or {}).get("message_id", "")) or None)
        code = body.get("error_code", response.status_code)
        retry_after = (body.get("parameters") or {}).get("retry_after")
        description = str(body.get("description", ""))
        if code == 429:
            raise code_error(response, code, description, rate_limited={429: float(retry_after or 1)})
        if code in (400, 401, 403, 404):
            raise PermanentError(f"{description} (code {code}); {_hint(code)}", code=code)
        raise code_error(response, code, description)


def _hint(code: int) -> str:
    if code in (401, 404):
        return "check TG_BOT_TOKEN (from @BotFather)"
    if code == 403:
        return "the user blocked the bot or never pressed Start: open the bot and send /start"
    return "check TG_USER_ID (message @userinfobot to learn yours)"
