"""A custom webhook receiver that wants a bearer token and the fields title, text and source.

It reads the body the way its Content-Type says (JSON, a form, multipart or plain text), so a
body sent under the wrong type is refused as a real receiver would refuse it.
"""

from __future__ import annotations

import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

SECRET = "whsec-9f8e7d6c5b4a"
SOURCE = "mcp-push"
FORM = "application/x-www-form-urlencoded"


def fields_of(request: Recorded) -> dict[str, Any]:
    """The body's fields as a receiver reads them under the request's Content-Type."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            body = request.json()
            return body if isinstance(body, dict) else {}
        if kind == FORM:
            return request.form()
        if kind == "multipart/form-data":
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            mail = BytesParser(policy=HTTP).parsebytes(head + request.body)
            return {
                part.get_param("name", header="content-disposition"): part.get_content() for part in mail.iter_parts()
            }
    except (ValueError, UnicodeDecodeError):
        return {}
    return {}


class FakeWebhook(FakeProvider):
    replies = {
        "ok": Reply(200, "ok"),
        "permanent": Reply(404, {"error": "no such hook"}),
        "transient": Reply(503, "try later"),
        "rate_limited": Reply(429, "slow down", {"Retry-After": "2"}),
    }

    def __init__(self) -> None:
        super().__init__()
        self.source = SOURCE

    def configure(self, env: dict[str, str]) -> None:
        found = re.search(r"^source:\s*(.*)$", env.get("WEBHOOK_BODY", ""), re.MULTILINE)
        if found:
            self.source = json.loads(found.group(1))

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/hook":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(405, "method not allowed"))
        if request.headers.get("authorization") != f"Bearer {SECRET}":
            raise Rejected("bad auth", Reply(401, "unauthorized"))
        body = fields_of(request)
        if not body.get("title") or not body.get("text") or body.get("source") != self.source:
            raise Rejected(f"bad body {body} as {request.headers.get('content-type')}", Reply(400, "bad body"))
        if request.param("t") is None:
            raise Rejected("no $title in query", Reply(400, "missing t"))


CASE = ChannelCase(
    channel="webhook",
    fake=FakeWebhook,
    env=lambda url: {
        "WEBHOOK_URL": f"{url}/hook?t=$title",
        "WEBHOOK_METHOD": "POST",
        "WEBHOOK_CONTENT_TYPE": "application/json",
        "WEBHOOK_HEADERS": f"Authorization: Bearer {SECRET}",
        "WEBHOOK_BODY": f'title: $title\ntext: $content\nsource: "{SOURCE}"',
    },
    secrets=(SECRET,),
    permanent_reason="no such hook",
    rate_wait=2.0,
)
