"""Slack incoming webhook: POST JSON {"text", "blocks"} to the hooks.slack.com URL, which is itself the secret.

The title is a header block, the content a mrkdwn section (cut to Slack's 3,000 characters),
the source line a context block and the message's URL a button; ``text`` is the notification's
fallback (the title).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    raise_for_http,
    short_hash,
    truncate,
)
from mcp_push.channels.errors import PermanentError
from mcp_push.channels.redact import webhook_secrets
from mcp_push.render import clip

if TYPE_CHECKING:
    import httpx

MAX_HEADER = 150  # header block: plain_text, at most 150 characters
MAX_SECTION = 3000  # section and context text: at most 3,000 characters
MAX_URL = 3000  # a button's url
HINTS = {
    "invalid_payload": "Slack could not read the message",
    "action_prohibited": "a workspace admin restricted this webhook",
    "channel_not_found": "the webhook's channel was deleted: create a new webhook",
    "channel_is_archived": "the webhook's channel is archived: unarchive it or create a new webhook",
    "no_service": "the webhook was revoked or the app removed: create a new one",
    "invalid_token": "the webhook URL is wrong or revoked: copy it again",
}


class Slack(HttpChannel):
    id = "slack"
    name = "Slack"
    settings = (
        Setting(
            "SLACK_WEBHOOK_URL",
            required=True,
            secret=True,
            example="https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
    )
    dialect = "slack_mrkdwn"
    rate_limit = RateLimit(1, 1.0)  # about one message a second per webhook, short bursts allowed

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), *webhook_secrets(self.get("SLACK_WEBHOOK_URL"))]

    def rate_key(self) -> str:
        # Per webhook, without writing the (secret) URL into the ledger.
        return "slack:" + short_hash(self.get("SLACK_WEBHOOK_URL"))

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest("POST", self.get("SLACK_WEBHOOK_URL"), json=self.payload(message))

    def payload(self, message: Message) -> dict[str, Any]:
        title = " ".join(message.title.split()) or "mcp-push"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": clip(title, MAX_HEADER), "emoji": True}}
        ]
        body = self.render_body(message, limit=MAX_SECTION, link=False, source=False)
        if body.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
        if message.source:
            source = self.inline(message.source)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(source, MAX_SECTION)}]})
        if message.url and len(message.url) <= MAX_URL:
            button = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": message.url}
            blocks.append({"type": "actions", "elements": [button]})
        return {"text": truncate(self.inline(title), MAX_SECTION), "blocks": blocks}

    def interpret(self, response: httpx.Response) -> Receipt:
        text = response.text.strip()
        if not response.is_success:
            hint = HINTS.get(text)
            raise_for_http(response, f"{text}: {hint}" if hint else None)
        if text == "ok":
            return Receipt()
        raise PermanentError(f"Slack answered HTTP {response.status_code} without 'ok': {text[:300] or '(empty)'}")
