"""Discord webhook: POST {webhook URL}?wait=true with one embed; the URL's token is the secret.

The embed's title is the message's title (a link to the message's URL when it has one), its
description the content in Discord Markdown, its colour the event's, its footer the source
line; Discord's embed limits (title 256, description 4096, footer 2048, 6,000 in all) are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    code_error,
    json_body,
    raise_for_http,
    retry_after_header,
    truncate,
)
from mcp_push.channels.errors import PermanentError, RateLimitedError
from mcp_push.channels.redact import webhook_secrets
from mcp_push.render import clip

if TYPE_CHECKING:
    import httpx

MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_FIELD_VALUE = 1024
MAX_EMBED_TOTAL = 6000
HINTS = {
    10015: "the webhook was deleted: create a new one and update DISCORD_WEBHOOK_URL",
    50027: "the webhook token is wrong: copy the URL again",
}


def with_wait(url: str) -> str:
    """Ask Discord to answer with the created message (so success is confirmed, not assumed)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit((*parts[:3], urlencode([*query, ("wait", "true")]), ""))


class Discord(HttpChannel):
    id = "discord"
    name = "Discord"
    dialect = "discord_markdown"
    settings = (
        Setting(
            "DISCORD_WEBHOOK_URL",
            required=True,
            secret=True,
            example="https://discord.com/api/webhooks/1234567890123456789/AbCdEf...",
        ),
    )

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), *webhook_secrets(self.get("DISCORD_WEBHOOK_URL"))]

    def request(self, message: Message) -> HttpRequest:
        payload = {
            "embeds": [self.embed(message)],
            "allowed_mentions": {"parse": []},  # an agent's text must not ping @everyone
        }
        return HttpRequest("POST", with_wait(self.get("DISCORD_WEBHOOK_URL")), json=payload)

    def embed(self, message: Message) -> dict[str, Any]:
        from mcp_push.render.priority import discord_colour

        title = clip(self.inline(message.title), MAX_TITLE) or "mcp-push"
        embed: dict[str, Any] = {"title": title, "color": discord_colour(message.event)}
        used = len(title)
        if message.url and message.url.startswith(("http://", "https://")) and len(message.url) <= MAX_FIELD_VALUE:
            embed["url"] = message.url
            embed["fields"] = [{"name": "Link", "value": message.url}]
            used += len("Link") + len(message.url)
        if message.source:
            footer = truncate(message.source, MAX_FOOTER)
            embed["footer"] = {"text": footer}
            used += len(footer)
        room = min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - used)
        description = self.render_body(message, limit=room, link=False, source=False)
        if description.strip():
            embed["description"] = description
        return embed

    def interpret(self, response: httpx.Response) -> Receipt:
        if response.status_code == 204:
            return Receipt()
        if response.status_code == 429:
            raise _rate_limited(response)
        if response.is_success:
            message_id = json_body(response).get("id")
            if message_id:
                return Receipt(str(message_id))
            raise PermanentError(f"Discord answered HTTP {response.status_code} without a message id")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "message" not in body:
            raise_for_http(response)  # e.g. an HTML page from Cloudflare
        code = body.get("code", response.status_code)
        hint = HINTS.get(code)
        raise code_error(response, code, f"{body['message']}; {hint}" if hint else str(body["message"]))


def _rate_limited(response: httpx.Response) -> RateLimitedError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    wait = body.get("retry_after") if isinstance(body, dict) else None
    if not isinstance(wait, int | float):
        wait = retry_after_header(response)
    scope = "global" if isinstance(body, dict) and body.get("global") else "webhook"
    message = body.get("message", "rate limited") if isinstance(body, dict) else "rate limited"
    return RateLimitedError(f"{message} ({scope} limit)", code=429, retry_after=wait)
