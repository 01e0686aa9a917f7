"""Slack incoming webhooks (hooks.slack.com/services/T/B/X), plain-text answers."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

PATH = "/services/T0A1B2C3D/B4E5F6G7H/q8W9e0R1t2Y3u4I5o6P7a8S9"
URL = f"https://hooks.slack.com{PATH}"
HOOK_TOKEN = PATH.rpartition("/")[2]


class FakeSlack(FakeProvider):
    replies = {
        "ok": Reply(200, "ok"),
        "permanent": Reply(404, "channel_not_found"),
        "transient": Reply(500, "internal_error"),
        "rate_limited": Reply(429, "rate_limited", {"Retry-After": "2"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST":
            raise Rejected(f"method {request.method}", Reply(405, "invalid_method"))
        if request.path != PATH:
            raise Rejected(f"bad path {request.path}", Reply(403, "invalid_token"))
        if "application/json" not in request.headers.get("content-type", ""):
            raise Rejected("not JSON", Reply(400, "invalid_payload"))
        if not request.json().get("text"):
            raise Rejected("no text", Reply(400, "no_text"))


CASE = ChannelCase(
    channel="slack",
    fake=FakeSlack,
    env=lambda url: {"SLACK_WEBHOOK_URL": URL, "MCP_PUSH_ORIGIN_SLACK": url},
    secrets=(URL, HOOK_TOKEN),
    permanent_reason="channel_not_found",
    rate_wait=2.0,
)
