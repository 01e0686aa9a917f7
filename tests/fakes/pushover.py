"""Pushover's /1/messages.json: form in, {"status": 1|0, "errors": [...]} out, 429 past the monthly quota."""

from __future__ import annotations

import math
import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
USER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
QUOTA_RESET_IN = 3600  # the fake's month ends in an hour


def _invalid(field: str, error: str) -> Reply:
    return Reply(400, {field: "invalid", "errors": [error], "status": 0, "request": "5042853c-402d-4a18-abcb"})


class FakePushover(FakeProvider):
    replies = {
        "ok": Reply(200, {"status": 1, "request": "647d2300-702c-4b38-8b2f-d56326ae460b"}),
        "permanent": _invalid("user", "user identifier is not a valid user, group, or subscribed user key"),
        "transient": Reply(500, "Internal Server Error"),
    }

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "rate_limited":
            reset = str(math.ceil(time.time()) + QUOTA_RESET_IN)
            headers = {"X-Limit-App-Limit": "10000", "X-Limit-App-Remaining": "0", "X-Limit-App-Reset": reset}
            return Reply(429, {"status": 0, "errors": ["application is over its message quota"]}, headers)
        return self.replies[mode]

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/1/messages.json":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, {"status": 0}))
        form = request.form()
        if form.get("token") != TOKEN:
            raise Rejected("bad token", _invalid("token", "application token is invalid"))
        if form.get("user") != USER:
            raise Rejected("bad user", self.replies["permanent"])
        if not form.get("message") or len(form["message"]) > 1024 or len(form.get("title", "")) > 250:
            raise Rejected("message missing or too long", _invalid("message", "message cannot be blank or too long"))
        if form.get("priority", "0") not in {"-2", "-1", "0", "1", "2"}:
            raise Rejected("bad priority", _invalid("priority", "priority is invalid"))
        if form.get("priority") == "2" and not (form.get("retry") and form.get("expire")):
            raise Rejected("emergency without retry/expire", _invalid("retry", "retry and expire are required"))
        if len(form.get("url", "")) > 512 or len(form.get("url_title", "")) > 100:
            raise Rejected("url or url_title too long", _invalid("url", "url is too long"))


CASE = ChannelCase(
    channel="pushover",
    fake=FakePushover,
    env=lambda url: {"PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER, "MCP_PUSH_ORIGIN_PUSHOVER": url},
    secrets=(TOKEN, USER),
    permanent_reason="not a valid user",
    rate_wait=float(QUOTA_RESET_IN),
)
