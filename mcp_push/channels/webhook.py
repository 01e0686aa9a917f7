"""Custom webhook, as QingLong defines it: WEBHOOK_URL, _METHOD, _CONTENT_TYPE, _HEADERS, _BODY.

``$title`` and ``$content`` are substituted (URL-encoded in the URL). WEBHOOK_BODY holds
``key: value`` lines read as the original mcp-push reads them. The body follows
WEBHOOK_CONTENT_TYPE: JSON only when it says JSON; unset, the fields go as a form
(``application/x-www-form-urlencoded``), as the original sent them. Success is any 2xx.

How a value is filled in (the original's rule, kept for drop-in compatibility): the title and
content go in with each newline written as the two characters ``\\n``, then the value is read as
JSON if it parses (so ``"$content"`` in quotes gives the real newlines back, and ``42`` a number),
else kept as text. One deliberate difference: a value that is JSON before substitution (a quoted
string, a list, an object) gets the exact title and content, so quotes, backslashes and tabs in
them survive (the original turned ``C:\\tmp`` into ``C:<tab>mp`` there).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, urlencode

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Setting
from mcp_push.channels.redact import url_secrets

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
# A field is a word, a colon and the rest of that line (the original's reading of WEBHOOK_BODY).
_FIELD = re.compile(r"(\w+):\s*([^\n]*)")

Fill = Callable[[str], str]


def parse_headers(raw: str) -> dict[str, str]:
    """``Name: value`` lines; a repeated name joins its values with ", "."""
    headers: dict[str, str] = {}
    for line in raw.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            key = name.strip()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers


def parse_body(raw: str, fill: Fill | None = None, exact: Fill | None = None) -> dict[str, Any]:
    """WEBHOOK_BODY's fields. ``fill`` substitutes the QingLong way, ``exact`` into JSON values.

    Without them the values are read as written (JSON where they parse). A later field of the
    same name wins, as in the original.
    """
    fields: dict[str, Any] = {}
    for match in _FIELD.finditer(raw):
        key, value = match.group(1), match.group(2).strip()
        parsed, template = _json(value)
        if exact is not None and parsed and isinstance(template, str | list | dict):
            fields[key] = _fill_json(template, exact)
        elif fill is not None:
            filled = fill(value)
            parsed, typed = _json(filled)
            fields[key] = typed if parsed else filled
        else:
            fields[key] = template if parsed else value
    return fields


def _json(text: str) -> tuple[bool, Any]:
    """(whether ``text`` is JSON, its value)."""
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _fill_json(value: Any, fill: Fill) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _fill_json(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, fill) for v in value]
    return value


def _filler(message: Message, newline: str) -> Fill:
    title, content = message.title.replace("\n", newline), message.content.replace("\n", newline)
    return lambda text: text.replace("$title", title).replace("$content", content)


def _form_value(value: Any) -> str:
    """A field as a form value: text as is, a number or bool as Python writes it (as the original), JSON otherwise."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def form_pairs(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Form fields: a list repeats its key, a null is left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((key, _form_value(item)))
    return pairs


def multipart(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields and its Content-Type (with the boundary)."""
    boundary = f"mcp-push-{secrets.token_hex(12)}"
    parts = []
    for key, value in pairs:
        name = key.replace('"', "%22")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode("utf-8"), f"{MULTIPART}; boundary={boundary}"


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json(content_type: str) -> bool:
    kind = media_type(content_type)
    return kind == JSON or kind.endswith("+json")


class Webhook(HttpChannel):
    id = "webhook"
    name = "Custom webhook"
    settings = (
        Setting("WEBHOOK_URL", required=True, secret=True, example="https://example.com/hook?title=$title"),
        Setting("WEBHOOK_METHOD", required=True, example="POST"),
        Setting("WEBHOOK_CONTENT_TYPE", example="application/json"),
        Setting("WEBHOOK_HEADERS", secret=True, example="Authorization: Bearer abc123"),
        Setting("WEBHOOK_BODY", example="title: $title\ncontent: $content", text=True),
    )

    def secret_values(self) -> list[str]:
        # The whole URL, the key-like parts of its path and query, and the header values.
        return [
            *super().secret_values(),
            *url_secrets(self.get("WEBHOOK_URL")),
            *parse_headers(self.get("WEBHOOK_HEADERS")).values(),
        ]

    def request(self, message: Message) -> HttpRequest:
        url = self.get("WEBHOOK_URL")
        url = url.replace("$title", quote_plus(message.title)).replace("$content", quote_plus(message.content))
        headers = parse_headers(self.get("WEBHOOK_HEADERS"))
        body, content_type = self.body(message)
        if body is not None:
            declared = [name for name in headers if name.lower() == "content-type"]
            if content_type.startswith(MULTIPART) or not declared:
                for name in declared:  # a multipart body is only readable with its own boundary
                    del headers[name]
                headers["Content-Type"] = content_type
        return HttpRequest(self.get("WEBHOOK_METHOD").upper(), url, content=body, headers=headers)

    def body(self, message: Message) -> tuple[bytes | None, str]:
        """The request body for WEBHOOK_BODY under WEBHOOK_CONTENT_TYPE, and the Content-Type it goes with."""
        template = self.get("WEBHOOK_BODY")
        content_type = self.get("WEBHOOK_CONTENT_TYPE", FORM)
        if not template:
            return None, content_type
        kind = media_type(content_type)
        if not (is_json(content_type) or kind in (FORM, MULTIPART)):
            # text/plain, and any type we cannot build from fields: the template itself, filled in.
            return _filler(message, "\\n")(template).encode("utf-8"), content_type
        fields = parse_body(template, _filler(message, "\\n"), _filler(message, "\n"))
        if is_json(content_type):
            return json.dumps(fields, ensure_ascii=False).encode("utf-8"), content_type
        if kind == MULTIPART:
            return multipart(form_pairs(fields))
        return urlencode(form_pairs(fields)).encode("ascii"), content_type
