"""Custom webhook, as QingLong defines it: WEBHOOK_URL, _METHOD, _CONTENT_TYPE, _HEADERS, _BODY.

``$title`` and ``$content`` are substituted (URL-encoded in the URL). WEBHOOK_BODY holds
``key: value`` lines, rendered as JSON or as a form per WEBHOOK_CONTENT_TYPE; values that
parse as JSON stay JSON. Success is any 2xx.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus, urlencode

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Setting


def parse_headers(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            key = name.strip()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers


def parse_body(raw: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for line in raw.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or key in fields:
            continue
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    return fields


class Webhook(HttpChannel):
    id = "webhook"
    name = "Custom webhook"
    settings = (
        Setting("WEBHOOK_URL", required=True, secret=True, example="https://example.com/hook?title=$title"),
        Setting("WEBHOOK_METHOD", required=True, example="POST"),
        Setting("WEBHOOK_CONTENT_TYPE", example="application/json"),
        Setting("WEBHOOK_HEADERS", secret=True, example="Authorization: Bearer abc123"),
        Setting("WEBHOOK_BODY", example="title: $title\ncontent: $content"),
    )

    def secret_values(self) -> list[str]:
        # The URL's query and the header values are the credentials; the whole URL is masked too.
        return [*super().secret_values(), *parse_headers(self.get("WEBHOOK_HEADERS")).values()]

    def request(self, message: Message) -> HttpRequest:
        url = self.get("WEBHOOK_URL")
        url = url.replace("$title", quote_plus(message.title)).replace("$content", quote_plus(message.content))
        headers = parse_headers(self.get("WEBHOOK_HEADERS"))
        content_type = self.get("WEBHOOK_CONTENT_TYPE", "application/json")
        headers.setdefault("Content-Type", content_type)
        template = self.get("WEBHOOK_BODY")
        body: str | None = None
        if template:
            if content_type.startswith("text/plain"):
                body = template.replace("$title", message.title).replace("$content", message.content)
            else:
                fields = {k: _substitute(v, message) for k, v in parse_body(template).items()}
                if content_type.startswith("application/x-www-form-urlencoded"):
                    body = urlencode(fields, doseq=True)
                else:
                    body = json.dumps(fields, ensure_ascii=False)
        return HttpRequest(self.get("WEBHOOK_METHOD").upper(), url, content=body, headers=headers)


def _substitute(value: Any, message: Message) -> Any:
    if isinstance(value, str):
        return value.replace("$title", message.title).replace("$content", message.content)
    if isinstance(value, dict):
        return {k: _substitute(v, message) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, message) for v in value]
    return value
