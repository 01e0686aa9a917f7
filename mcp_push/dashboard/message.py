"""A delivery's message as its channel wrote it: the Message rebuilt from the ticket, the channel's
own ``request()`` called on it, nothing sent.

The dashboard shows what a person received, not what the agent typed. The channel is built from
the dashboard's settings env with an HTTP client pool that refuses to connect, so a channel whose
request needs a network call first (an access token) falls back to the plain text, as does a
channel that is not configured here. Only the parts a person sees are kept (text, card, buttons,
ntfy's display headers): never the URL or the other headers, which carry the channel's secrets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp_push.channels import get_channel_class
from mcp_push.channels.base import Channel, HttpChannel, HttpClients, HttpRequest, Message
from mcp_push.storage.base import TicketRecord

log = logging.getLogger(__name__)

# The dialects whose text is Markdown a person sees rendered (mcp_push.render.DIALECTS).
MARKDOWN_DIALECTS = frozenset(
    {
        "commonmark",
        "discord_markdown",
        "dingtalk_markdown",
        "wecom_markdown",
        "feishu",
        "ntfy",
        "gotify",
        "bark",
        "serverchan",
        "pushdeer",
        "pushplus",
    }
)
# ntfy headers that change what the notification looks like; Authorization and the rest never leave here.
NTFY_SHOWN = ("Title", "Priority", "Tags", "Click", "Actions", "Markdown", "Icon")
OFFLINE = "the dashboard does not connect to providers"


def message_of(record: TicketRecord) -> Message:
    """The Message a worker builds from a ticket, for the dashboard to render as each channel would.

    One small function so that it can become the worker's own builder (tasks/delivery.py): the
    rendering fields (format, priority, url, source) are read when the ticket has them.
    """
    return Message(
        record.title,
        record.content,
        record.run_id,
        record.ticket,
        record.event,
        format=getattr(record, "format", None) or "markdown",
        priority=getattr(record, "priority", None),
        url=getattr(record, "url", None),
        source=getattr(record, "source", None),
    )


@dataclass(frozen=True)
class Sent:
    """What one channel would show: ``kind`` says how to draw ``body`` (dashboard/preview.py).

    kinds: ``email`` (body: the HTML document), ``telegram``/``feishu``/``discord``/``slack``
    (body: the request's payload, secrets not in it), ``ntfy`` (body: shown headers and text),
    ``markdown`` (body: the text in ``dialect``), ``plain`` (body: text; ``note`` says why plain).
    """

    channel: str
    kind: str
    dialect: str
    body: Any
    title: str = ""
    note: str = ""


class _Offline(HttpClients):
    """A client pool that never connects: rendering a request must not send it."""

    def get(self, proxy: str | None = None) -> Any:
        raise ConnectionRefusedError(OFFLINE)


def plain(message: Message) -> str:
    """Title and content as clean text, the link and source below (what a plain channel sends)."""
    from mcp_push.render import fit, link_line, render, source_line

    tail = [link_line(message.url)] if message.url else []
    if message.source:
        tail.append(source_line(message.source))
    fmt = "text" if message.format == "text" else "markdown"
    body = fit(render(message.content, "plain", fmt, tail=tuple(tail)), None)
    return f"{message.title}\n\n{body}" if body else message.title


def as_sent(channel_id: str, message: Message, env: Mapping[str, str]) -> Sent:
    """How ``channel_id`` would deliver ``message`` with ``env``; plain text when it cannot say."""
    cls = get_channel_class(channel_id)
    if cls is None:
        return Sent(channel_id, "plain", "plain", plain(message), message.title, "unknown channel: plain text")
    if not cls.enabled(env):
        return Sent(channel_id, "plain", "plain", plain(message), message.title, "not configured here: plain text")
    clients = _Offline(1.0)
    channel: Channel | None = None
    try:
        channel = cls(env, clients=clients)
        return _read(channel, message)
    except Exception as exc:  # a half-valid setting, a request that needs the network: show the text
        reason = channel.redact(str(exc)) if channel is not None else type(exc).__name__
        log.debug("the dashboard could not render %s's request", channel_id, exc_info=True)
        note = f"shown as plain text: {OFFLINE}" if OFFLINE in str(exc) else f"shown as plain text ({reason})"
        return Sent(channel_id, "plain", "plain", plain(message), message.title, note)
    finally:
        clients.close()


def _read(channel: Channel, message: Message) -> Sent:
    from mcp_push.channels.smtp import Smtp  # smtplib stays unloaded until a page shows an e-mail

    cid, dialect = channel.id, channel.dialect
    provider = channel.base_id  # telegram:2 is drawn as telegram is
    if isinstance(channel, Smtp):
        return Sent(cid, "email", "email_html", channel.html(message), message.title)
    if not isinstance(channel, HttpChannel):
        return Sent(cid, "plain", "plain", plain(message), message.title)
    req = channel.request(message)
    payload = _payload(req)
    if provider == "telegram" and isinstance(payload, dict):
        return Sent(cid, "telegram", "telegram_html" if payload.get("parse_mode") == "HTML" else "plain", payload)
    if provider == "feishu" and isinstance(payload, dict) and isinstance(payload.get("card"), dict):
        return Sent(cid, "feishu", dialect, payload["card"], message.title)
    if provider == "discord" and isinstance(payload, dict) and payload.get("embeds"):
        return Sent(cid, "discord", dialect, payload, message.title)
    if provider == "slack" and isinstance(payload, dict) and payload.get("blocks"):
        return Sent(cid, "slack", dialect, payload, message.title)
    if provider == "ntfy":
        headers = {k: channel.redact(_header_text(v)) or "" for k, v in req.headers.items() if k in NTFY_SHOWN}
        text = req.content.decode("utf-8", "replace") if isinstance(req.content, bytes) else str(req.content or "")
        return Sent(cid, "ntfy", dialect, {"headers": headers, "text": text}, message.title)
    if dialect in MARKDOWN_DIALECTS:
        return Sent(cid, "markdown", dialect, channel.render_body(message), message.title)
    return Sent(cid, "plain", "plain", channel.plain_text(message), message.title)


def _header_text(value: str) -> str:
    """A header as the app shows it: RFC 2047 words (how non-ASCII titles travel) decoded."""
    if "=?" not in value:
        return value
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def _payload(req: HttpRequest) -> Any:
    """The request's JSON body, whichever way the channel handed it over (None if not JSON)."""
    if req.json is not None:
        return req.json
    if isinstance(req.content, bytes | str):
        try:
            return json.loads(req.content)
        except ValueError:
            return None
    return None
