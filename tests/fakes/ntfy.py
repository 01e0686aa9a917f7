"""ntfy (ntfy.sh or self-hosted), with its JSON error bodies.

ntfy reads RFC 2047 encoded headers, and a header it cannot read as text is refused; the fake
checks Title and Actions as ntfy decodes them (Actions against the configured NTFY_ACTIONS).
"""

from __future__ import annotations

import base64
import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOPIC = "agent-alerts-5f2c9d81"
TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
USERNAME = "alice"
PASSWORD = "pa55-w0rd-ntfy"


class FakeNtfy(FakeProvider):
    replies = {
        "permanent": Reply(
            403, {"code": 40301, "http": 403, "error": "forbidden", "link": "https://ntfy.sh/docs/publish/"}
        ),
        "transient": Reply(500, {"code": 50001, "http": 500, "error": "internal server error"}),
        "rate_limited": Reply(429, {"code": 42901, "http": 429, "error": "limit reached: too many requests"}),
    }

    def __init__(self) -> None:
        super().__init__()
        self.actions: str | None = None

    def configure(self, env: dict[str, str]) -> None:
        self.actions = env.get("NTFY_ACTIONS")

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "ok":
            return Reply(
                200,
                {
                    "id": "sPs71M8A2T",
                    "time": int(time.time()),
                    "event": "message",
                    "topic": TOPIC,
                    "message": request.body.decode(),
                },
            )
        return self.replies[mode]

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/{TOPIC}":
            raise Rejected(
                f"bad request line {request.method} {request.path}",
                Reply(404, {"code": 40401, "http": 404, "error": "page not found"}),
            )
        basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") not in (f"Bearer {TOKEN}", basic):
            raise Rejected("bad auth", Reply(401, {"code": 40101, "http": 401, "error": "unauthorized"}))
        invalid = Reply(400, {"code": 40001, "http": 400, "error": "invalid request"})
        if not request.header("title") or not request.body:
            raise Rejected("missing title or body", invalid)
        if any(not value.isascii() for value in request.headers.values()):
            raise Rejected("a header is not ASCII (not RFC 2047-encoded)", invalid)
        if self.actions is not None and request.header("actions") != self.actions:
            raise Rejected(f"actions {request.header('actions')!r} != {self.actions!r}", invalid)


CASE = ChannelCase(
    channel="ntfy",
    fake=FakeNtfy,
    env=lambda url: {"NTFY_URL": url, "NTFY_TOPIC": TOPIC, "NTFY_TOKEN": TOKEN},
    secrets=(TOPIC, TOKEN),
    permanent_reason="forbidden",
    rate_wait=5.0,
)


def title_of(request: Recorded) -> str:
    """The Title header as ntfy reads it (RFC 2047-decoded)."""
    return request.header("title")
