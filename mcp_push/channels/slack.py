"""Slack incoming webhook: POST JSON {"text"} to the hooks.slack.com URL, which is itself the secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    raise_for_http,
    short_hash,
)
from mcp_push.channels.errors import PermanentError
from mcp_push.channels.redact import webhook_secrets

if TYPE_CHECKING:
    import httpx

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
    rate_limit = RateLimit(1, 1.0)  # about one message a second per webhook, short bursts allowed

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), *webhook_secrets(self.get("SLACK_WEBHOOK_URL"))]

    def rate_key(self) -> str:
        # Per webhook, without writing the (secret) URL into the ledger.
        return "slack:" + short_hash(self.get("SLACK_WEBHOOK_URL"))

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest("POST", self.get("SLACK_WEBHOOK_URL"), json={"text": message.text})

    def interpret(self, response: httpx.Response) -> Receipt:
        text = response.text.strip()
        if not response.is_success:
            hint = HINTS.get(text)
            raise_for_http(response, f"{text}: {hint}" if hint else None)
        if text == "ok":
            return Receipt()
        raise PermanentError(f"Slack answered HTTP {response.status_code} without 'ok': {text[:300] or '(empty)'}")
