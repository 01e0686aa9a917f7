"""ntfy (ntfy.sh or self-hosted), with its JSON error bodies."""

from __future__ import annotations

import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOPIC = "agent-alerts-5f2c9d81"
TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"


class FakeNtfy(FakeProvider):
    replies = {
        "permanent": Reply(
            403, {"code": 40301, "http": 403, "error": "forbidden", "link": "https://ntfy.sh/docs/publish/"}
        ),
        "transient": Reply(500, {"code": 50001, "http": 500, "error": "internal server error"}),
        "rate_limited": Reply(429, {"code": 42901, "http": 429, "error": "limit reached: too many requests"}),
    }

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
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            raise Rejected("bad auth", Reply(401, {"code": 40101, "http": 401, "error": "unauthorized"}))
        if not request.headers.get("title") or not request.body:
            raise Rejected(
                "missing title or body", Reply(400, {"code": 40001, "http": 400, "error": "invalid request"})
            )


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
    from email.header import decode_header, make_header

    return str(make_header(decode_header(request.headers.get("title", ""))))
