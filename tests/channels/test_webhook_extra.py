"""Custom webhook: the body the original mcp-push sends for each WEBHOOK_CONTENT_TYPE, checked by a receiver.

The original reads WEBHOOK_BODY's ``key: value`` lines, fills ``$title``/``$content`` in with each
newline written as ``\\n``, reads each value as JSON where it parses, and, with no content type,
posts the fields as a form (application/x-www-form-urlencoded).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.webhook import Webhook, parse_body
from tests.fakes.webhook import SECRET, FakeWebhook, fields_of

MESSAGE = Message("Build finished", "line one\nline two")
BODY = 'title: $title\ntext: $content\nsource: "mcp-push"'


@pytest.fixture
def fake() -> Iterator[FakeWebhook]:
    fake = FakeWebhook().start()
    yield fake
    fake.stop()


def send(fake: FakeWebhook, clients: HttpClients, message: Message = MESSAGE, **env: str) -> None:
    settings = {
        "WEBHOOK_URL": f"{fake.url}/hook?t=$title",
        "WEBHOOK_METHOD": "post",
        "WEBHOOK_HEADERS": f"Authorization: Bearer {SECRET}",
        "WEBHOOK_BODY": BODY,
        **env,
    }
    fake.configure(settings)
    Webhook(settings, clients=clients).send(message)


def test_no_content_type_sends_a_form_as_the_original(fake: FakeWebhook, clients: HttpClients) -> None:
    send(fake, clients)
    assert fake.problems == []
    (request,) = fake.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    # Exactly the original's bytes: fields in order, newlines as the two characters \n, "mcp-push" unquoted.
    expected = urlencode([("title", "Build finished"), ("text", "line one\\nline two"), ("source", "mcp-push")])
    assert request.body == expected.encode()
    assert request.param("t") == "Build finished"


def test_json_only_when_the_content_type_says_so(fake: FakeWebhook, clients: HttpClients) -> None:
    send(fake, clients, WEBHOOK_CONTENT_TYPE="application/json; charset=utf-8")
    assert fake.problems == []
    assert fake.requests[0].headers["content-type"] == "application/json; charset=utf-8"
    assert fake.requests[0].json() == {"title": "Build finished", "text": "line one\\nline two", "source": "mcp-push"}


def test_values_read_as_json_as_the_original(fake: FakeWebhook, clients: HttpClients) -> None:
    body = 'title: $title\ntext: "$content"\nsource: "mcp-push"\ncount: 42\ntags: ["ci", "$title"]\ntext: "$content!"'
    send(
        fake,
        clients,
        Message("7", 'He said "done"\nC:\\tmp'),
        WEBHOOK_CONTENT_TYPE="application/json",
        WEBHOOK_BODY=body,
    )
    assert fake.problems == []
    assert fake.requests[0].json() == {
        "title": 7,  # an unquoted value that reads as JSON is JSON, as in the original
        "text": 'He said "done"\nC:\\tmp!',  # quoted: the exact content; the later field of a name wins
        "source": "mcp-push",
        "count": 42,
        "tags": ["ci", "7"],
    }


def test_a_quoted_form_value_keeps_real_newlines(fake: FakeWebhook, clients: HttpClients) -> None:
    send(fake, clients, WEBHOOK_BODY='title: $title\ntext: "$content"\nsource: "mcp-push"\nflag: true\nnone: null')
    assert fake.problems == []
    assert fake.requests[0].form() == {
        "title": "Build finished",
        "text": "line one\nline two",
        "source": "mcp-push",
        "flag": "True",  # as the original's form encoding writes a JSON true
    }


def test_text_plain_is_the_filled_in_template(clients: HttpClients) -> None:
    settings = {
        "WEBHOOK_URL": "https://hooks.example.com/plain?t=$title",
        "WEBHOOK_METHOD": "put",
        "WEBHOOK_CONTENT_TYPE": "text/plain",
        "WEBHOOK_BODY": "[$title] $content",
    }
    request = Webhook(settings, clients=clients).request(MESSAGE)
    assert (request.method, request.url) == ("PUT", "https://hooks.example.com/plain?t=Build+finished")
    assert request.headers["Content-Type"] == "text/plain"
    assert request.content == b"[Build finished] line one\\nline two"


def test_multipart_is_real_multipart(fake: FakeWebhook, clients: HttpClients) -> None:
    send(
        fake,
        clients,
        WEBHOOK_CONTENT_TYPE="multipart/form-data",
        WEBHOOK_HEADERS=f"Authorization: Bearer {SECRET}\nContent-Type: multipart/form-data",
    )
    assert fake.problems == []
    (request,) = fake.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert fields_of(request) == {"title": "Build finished", "text": "line one\\nline two", "source": "mcp-push"}


def test_a_content_type_in_webhook_headers_wins(fake: FakeWebhook, clients: HttpClients) -> None:
    send(
        fake,
        clients,
        WEBHOOK_CONTENT_TYPE="application/json",
        WEBHOOK_HEADERS=f"authorization: Bearer {SECRET}\ncontent-type: application/json",
    )
    assert fake.problems == []
    assert fake.requests[0].headers["content-type"] == "application/json"
    assert fake.requests[0].json()["source"] == "mcp-push"


def test_no_body_no_content_type(clients: HttpClients) -> None:
    settings = {"WEBHOOK_URL": "https://hooks.example.com/get?t=$title&c=$content", "WEBHOOK_METHOD": "GET"}
    request = Webhook(settings, clients=clients).request(MESSAGE)
    assert request.content is None and request.headers == {}
    assert request.url == "https://hooks.example.com/get?t=Build+finished&c=line+one%0Aline+two"


def test_a_non_ascii_header_value_is_sent_as_utf8(fake: FakeWebhook, clients: HttpClients) -> None:
    send(fake, clients, WEBHOOK_HEADERS=f"Authorization: Bearer {SECRET}\nX-From: 构建机 🤖")
    assert fake.problems == []
    assert fake.requests[0].header("x-from") == "构建机 🤖"


def test_parse_body_reads_fields_as_the_original() -> None:
    assert parse_body("a: 1\nb: text: more\nno colon here\nc-d: x\nb: last") == {"a": 1, "b": "last", "d": "x"}
