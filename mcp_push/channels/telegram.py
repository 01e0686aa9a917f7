"""Telegram Bot API: sendMessage, and for asks an inline keyboard the person presses.

The message goes in ``parse_mode=HTML`` (``mcp_push.render``'s ``telegram_html``: the title in
bold, the content's Markdown as <b> <i> <code> <pre> <a>, everything else escaped), cut to 4,096
UTF-16 units; if Telegram still cannot parse the entities, it is sent once more as plain text.
A low-priority message arrives silently (``disable_notification``); the message's URL is an
inline "Open" button beside any ask buttons (in the text where Telegram refuses the button).
The bot token travels in the URL path: always redacted. An ask (``Message.ask``) gets one
button per choice whose ``callback_data`` is the choice's signed token (at most 64 bytes, no
secret in it), and a URL button to the answer page when there is one; an ask that takes free
text says "reply to this message". The answers come back through ``getUpdates``, read by
``mcp_push.asking.telegram_listener`` with ``call``.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    AskPrompt,
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    code_error,
    json_body,
    short_hash,
    with_origin,
)
from mcp_push.channels.errors import PermanentError, TransientError
from mcp_push.channels.redact import split_userinfo
from mcp_push.render import measure
from mcp_push.render.priority import telegram_silent

if TYPE_CHECKING:
    import httpx

MAX_TEXT = 4096
REPLY_HINT = "↩️ Reply to this message to answer in your own words."
PAGE_BUTTON = "🌐 Open the answer page"
URL_BUTTON = "Open"
UNPARSABLE = "can't parse entities"  # Telegram's 400 for HTML it cannot read: resent as plain text


def _as_is(value: str) -> str:
    return value


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
    rate_limit = RateLimit(1, 1.0)  # about one message a second per chat, for each bot
    answers = True
    dialect = "telegram_html"

    def rate_key(self) -> str:
        # Per bot and chat: two bots (telegram, telegram:2) writing to one person do not share a bucket.
        return f"telegram:{short_hash(self.get('TG_BOT_TOKEN'))}:{self.get('TG_USER_ID')}"

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

    def api_url(self, method: str) -> str:
        base = self.get("TG_API_HOST", "https://api.telegram.org").rstrip("/")
        return f"{base}/bot{self.get('TG_BOT_TOKEN')}/{method}"

    def _request_to(
        self, chat_id: str, message: Message, *, link_button: bool = True, plain: bool = False
    ) -> HttpRequest:
        """sendMessage for ``message``: HTML, or (``plain``) the plain-text resend; ``link_button``
        False puts the answer page and the URL in the text (Telegram refused them as buttons)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "disable_web_page_preview": True}
        if telegram_silent(self.level(message)):
            payload["disable_notification"] = True
        suffix, markup = "", None
        if message.ask is not None:
            suffix, markup = _ask_markup("", message.ask, link_button=link_button, escape=_as_is if plain else _html)
        button = bool(message.url) and link_button and (markup is None or "inline_keyboard" in markup)
        if button:
            rows = markup["inline_keyboard"] if markup else []
            markup = {"inline_keyboard": [*rows, [{"text": URL_BUTTON, "url": message.url}]]}
        if markup:
            payload["reply_markup"] = markup
        room = MAX_TEXT - measure(suffix, "utf16")
        if plain:
            text = self.plain_text(message, limit=room, unit="utf16")
        else:
            head = f"<b>{self.inline(message.title)}</b>"
            body = self.render_body(
                message, limit=room - measure(head + "\n\n", "utf16"), unit="utf16", link=not button
            )
            text = f"{head}\n\n{body}" if body else head
            payload["parse_mode"] = "HTML"
        payload["text"] = text + suffix
        return HttpRequest("POST", self.api_url("sendMessage"), json=payload)

    def request(self, message: Message) -> HttpRequest:
        return self._request_to(self.get("TG_USER_ID"), message)

    def send(self, message: Message) -> Receipt:
        chat = self.get("TG_USER_ID")
        response = self.perform(self._request_to(chat, message))
        body = json_body(response)
        migrated = (body.get("parameters") or {}).get("migrate_to_chat_id")
        if not body.get("ok") and migrated:
            # The group became a supergroup: Telegram asks for one resend to its new id.
            chat = str(migrated)
            response = self.perform(self._request_to(chat, message))
            body = json_body(response)
        link_button = True
        if (
            not body.get("ok")
            and ((message.ask and message.ask.link) or message.url)
            and "url" in str(body.get("description", "")).lower()
        ):
            # Telegram refuses URL buttons to some addresses (localhost): the link goes in the text instead.
            link_button = False
            response = self.perform(self._request_to(chat, message, link_button=False))
            body = json_body(response)
        if not body.get("ok") and UNPARSABLE in str(body.get("description", "")).lower():
            # HTML Telegram cannot read (it should not happen: every entity is escaped): once more as plain text.
            response = self.perform(self._request_to(chat, message, link_button=link_button, plain=True))
        return self.interpret(response)

    def interpret(self, response: httpx.Response) -> Receipt:
        body: dict[str, Any] = json_body(response)
        if body.get("ok") is True:
            return Receipt(str((body.get("result") or {}).get("message_id", "")) or None)
        raise self.error(response, body)

    def error(self, response: httpx.Response, body: dict[str, Any]) -> Exception:
        """The DeliveryError for a Bot API answer with ``ok: false`` (409 keeps its code: another poller)."""
        code = body.get("error_code", response.status_code)
        retry_after = (body.get("parameters") or {}).get("retry_after")
        description = str(body.get("description", ""))
        if code == 429:
            return code_error(response, code, description, rate_limited={429: float(retry_after or 1)})
        if code in (400, 401, 403, 404):
            return PermanentError(f"{description} (code {code}); {_hint(code)}", code=code)
        if code == 409:
            return TransientError(f"{description} (code 409)", code=409)
        return code_error(response, code, description)

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """One Bot API call (getUpdates, answerCallbackQuery, editMessageText): its ``result``, or a
        DeliveryError. ``timeout`` covers a long poll, which outlasts the usual HTTP timeout."""
        import httpx

        client = self._clients.get(self.proxy())
        url = with_origin(self.api_url(method), self.origin)
        try:
            response = client.post(url, json=payload, timeout=timeout or self._clients.timeout)
        except httpx.TimeoutException as exc:
            raise TransientError(f"Telegram {method} did not answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"could not reach Telegram: {self.redact(str(exc)) or type(exc).__name__}") from None
        body = json_body(response)
        if body.get("ok") is True:
            return body.get("result")
        raise self.error(response, body)


def _html(value: str) -> str:
    return escape(value, quote=False)


def _ask_markup(
    text: str, ask: AskPrompt, *, link_button: bool, escape: Callable[[str], str] = _as_is
) -> tuple[str, dict[str, Any] | None]:
    """The message text and reply_markup of an ask: a button per choice (its token as callback
    data), the answer page as a URL button, a reply hint for free text (what is added to the
    text written by ``escape``, for the parse mode)."""
    rows: list[list[dict[str, str]]] = [
        [{"text": label, "callback_data": token}] for label, token in zip(ask.choices, ask.tokens, strict=False)
    ]
    if ask.link and link_button:
        rows.append([{"text": PAGE_BUTTON, "url": ask.link}])
    elif ask.link:
        text = f"{text}\n\n{escape(f'Answer page: {ask.link}')}"
    if ask.allow_text:
        text = f"{text}\n\n{escape(REPLY_HINT)}"
        if not rows:
            return text, {"force_reply": True, "input_field_placeholder": "Your answer"}
    return text, ({"inline_keyboard": rows} if rows else None)


def _hint(code: int) -> str:
    if code in (401, 404):
        return "check TG_BOT_TOKEN (from @BotFather)"
    if code == 403:
        return "the user blocked the bot or never pressed Start: open the bot and send /start"
    return "check TG_USER_ID (message @userinfobot to learn yours)"
