"""The "message as sent" panel of a delivery: each channel's message drawn the way its app shows it.

E-mail is its own HTML page in a sandboxed ``srcdoc`` iframe (no scripts, an opaque origin, and the
page's CSP inherited: only the mail's own inline styles are let through, by hash); Markdown
dialects are rendered; Telegram HTML keeps Telegram's tags only; Feishu, Discord and Slack are
drawn as cards with their colour band, header, body and buttons; ntfy with its priority, tags,
click target and actions. Every value is escaped here or by ``markup``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any

from mcp_push.dashboard import markup
from mcp_push.dashboard.fmt import esc
from mcp_push.dashboard.message import Sent

# Feishu card header templates (open.feishu.cn card docs); the page's CSS paints each (assets.py).
FEISHU_TEMPLATES = frozenset(
    {"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple", "indigo", "grey"}
)
NTFY_PRIORITY = {"1": "min", "2": "low", "3": "default", "4": "high", "5": "max", "urgent": "max"}
EMAIL_HEIGHT = 300


def style_hashes(document: str) -> set[str]:
    """CSP sources for the inline ``style`` attributes of ``document`` (the e-mail's own look)."""

    found: set[str] = set()

    class Styles(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if name == "style" and value:
                    digest = hashlib.sha256(value.encode("utf-8")).digest()
                    found.add("'sha256-" + base64.b64encode(digest).decode() + "'")

    reader = Styles()
    reader.feed(document)
    reader.close()
    return found


def panel(sent: Sent, key: str, *, open_: bool, allow_styles: Callable[[set[str]], None]) -> str:
    """The collapsible panel; ``key`` lets the page keep it open or shut across refreshes."""
    draw = DRAW.get(sent.kind, _plain)
    note = f'<span class="note">{esc(sent.note)}</span>' if sent.note else ""
    body = draw(sent, allow_styles)
    state = " open" if open_ else ""
    return (
        f'<details class="sent" data-key="{esc(key)}" data-kind="{esc(sent.kind)}"{state}>'
        f'<summary>message as sent <span class="dialect">{esc(sent.dialect)}</span>{note}</summary>'
        f'<div class="sent-body">{body}</div></details>'
    )


def _email(sent: Sent, allow_styles: Callable[[set[str]], None]) -> str:
    document = str(sent.body)
    allow_styles(style_hashes(document))
    return (
        f'<iframe class="mail" sandbox="" referrerpolicy="no-referrer" loading="lazy" height="{EMAIL_HEIGHT}"'
        f' title="{esc("e-mail: " + sent.title)}" srcdoc="{esc(document)}"></iframe>'
    )


def _markdown(sent: Sent, _: Callable[[set[str]], None]) -> str:
    title = f'<div class="m-title">{esc(sent.title)}</div>' if sent.title else ""
    return f'<div class="bubble">{title}<div class="md">{markup.markdown(str(sent.body))}</div></div>'


def _plain(sent: Sent, _: Callable[[set[str]], None]) -> str:
    return f'<div class="bubble"><div class="plain">{esc(sent.body)}</div></div>'


def _button(label: str, url: str) -> str:
    button = f'<span class="btn">{esc(label)}</span>'
    return markup.link(url, button) if url else button


def _telegram(sent: Sent, _: Callable[[set[str]], None]) -> str:
    payload: Mapping[str, Any] = sent.body
    text = str(payload.get("text", ""))
    shown = markup.telegram(text) if payload.get("parse_mode") == "HTML" else esc(text)
    rows = ((payload.get("reply_markup") or {}).get("inline_keyboard")) or []
    keyboard = "".join(
        '<div class="kb-row">'
        + "".join(_button(str(b.get("text", "")), str(b.get("url", ""))) for b in row if isinstance(b, dict))
        + "</div>"
        for row in rows
        if isinstance(row, list)
    )
    silent = '<span class="tag">silent</span>' if payload.get("disable_notification") else ""
    return f'<div class="bubble tg">{silent}<div class="plain">{shown}</div>{keyboard}</div>'


def _feishu(sent: Sent, _: Callable[[set[str]], None]) -> str:
    card: Mapping[str, Any] = sent.body
    header = card.get("header") or {}
    template = str(header.get("template") or "blue")
    title = str((header.get("title") or {}).get("content", ""))
    parts = []
    for element in card.get("elements") or []:
        tag = element.get("tag")
        if tag in ("markdown", "div"):
            content = element.get("content") or (element.get("text") or {}).get("content", "")
            parts.append(f'<div class="md">{markup.markdown(str(content))}</div>')
        elif tag == "action":
            buttons = "".join(
                _button(str((a.get("text") or {}).get("content", "")), str(a.get("url", "")))
                for a in element.get("actions") or []
            )
            parts.append(f'<div class="actions">{buttons}</div>')
        elif tag == "note":
            words = " ".join(str(e.get("content", "")) for e in element.get("elements") or [])
            parts.append(f'<div class="foot">{esc(words)}</div>')
        elif tag == "hr":
            parts.append("<hr>")
    return (
        f'<div class="card-msg feishu" data-template="{esc(template)}">'
        f'<div class="band t-{esc(template if template in FEISHU_TEMPLATES else "blue")}">{esc(title)}</div>'
        f'<div class="card-body">{"".join(parts)}</div></div>'
    )


def _discord(sent: Sent, _: Callable[[set[str]], None]) -> str:
    payload: Mapping[str, Any] = sent.body
    embed: Mapping[str, Any] = (payload.get("embeds") or [{}])[0]
    colour = int(embed.get("color") or 0)
    title = esc(embed.get("title", ""))
    title = markup.link(str(embed["url"]), title) if embed.get("url") else title
    parts = [f'<div class="e-title">{title}</div>']
    if embed.get("description"):
        parts.append(f'<div class="md">{markup.markdown(str(embed["description"]))}</div>')
    for field in embed.get("fields") or []:
        value = markup.markdown(str(field.get("value", "")))
        parts.append(f'<div class="field"><b>{esc(field.get("name", ""))}</b><div class="md">{value}</div></div>')
    if embed.get("footer"):
        parts.append(f'<div class="foot">{esc((embed.get("footer") or {}).get("text", ""))}</div>')
    return (
        f'<div class="card-msg discord" data-colour="#{colour:06x}">'
        f'<div class="stripe" data-tone="{_tone(colour)}"></div><div class="card-body">{"".join(parts)}</div></div>'
    )


def _tone(colour: int) -> str:
    """The event colour a Discord embed carries, named for the page's CSS (no inline styles)."""
    from mcp_push.render.priority import DISCORD_COLOURS

    for event, value in DISCORD_COLOURS.items():
        if value == colour:
            return event
    return "other"


def _slack(sent: Sent, _: Callable[[set[str]], None]) -> str:
    parts = []
    for block in sent.body.get("blocks") or []:
        kind = block.get("type")
        text = block.get("text") or {}
        if kind == "header":
            parts.append(f'<div class="e-title">{esc(text.get("text", ""))}</div>')
        elif kind == "section":
            body = markup.slack(str(text.get("text", ""))) if text.get("type") == "mrkdwn" else esc(text.get("text"))
            parts.append(f'<div class="md mrkdwn">{body}</div>')
        elif kind == "context":
            words = " ".join(str(e.get("text", "")) for e in block.get("elements") or [])
            parts.append(f'<div class="foot">{markup.slack(words)}</div>')
        elif kind == "actions":
            buttons = "".join(
                _button(str((e.get("text") or {}).get("text", "")), str(e.get("url", "")))
                for e in block.get("elements") or []
            )
            parts.append(f'<div class="actions">{buttons}</div>')
    return f'<div class="card-msg slack"><div class="card-body">{"".join(parts)}</div></div>'


def _ntfy(sent: Sent, _: Callable[[set[str]], None]) -> str:
    headers: Mapping[str, str] = sent.body["headers"]
    text = str(sent.body["text"])
    priority = headers.get("Priority", "3")
    tags = [t.strip() for t in headers.get("Tags", "").split(",") if t.strip()]
    chips = "".join(f'<span class="tag">{esc(t)}</span>' for t in tags)
    level = NTFY_PRIORITY.get(priority, priority)
    head = (
        f'<div class="n-head"><span class="prio p-{esc(priority)}" title="ntfy priority {esc(priority)}">'
        f"priority {esc(priority)} · {esc(level)}</span>{chips}</div>"
        f'<div class="m-title">{esc(headers.get("Title", ""))}</div>'
    )
    is_markdown = headers.get("Markdown", "").lower() in ("yes", "true", "1")
    body = f'<div class="md">{markup.markdown(text)}</div>' if is_markdown else f'<div class="plain">{esc(text)}</div>'
    extras = []
    if headers.get("Click"):
        extras.append(f'<div class="foot">tap opens {markup.link(headers["Click"], esc(headers["Click"]))}</div>')
    actions = [a.strip() for a in headers.get("Actions", "").split(";") if a.strip()]
    if actions:
        extras.append('<div class="actions">' + "".join(_ntfy_action(a) for a in actions) + "</div>")
    return f'<div class="bubble ntfy">{head}{body}{"".join(extras)}</div>'


def _ntfy_action(action: str) -> str:
    """``view, Label, https://…[, …]`` as a button (ntfy's simple format); other kinds show their label."""
    parts = [p.strip().strip("\"'") for p in action.split(",")]
    kind, label = [*parts, "", ""][:2]
    url = parts[2] if kind == "view" and len(parts) > 2 else ""
    return _button(label or kind, url)


DRAW: dict[str, Callable[[Sent, Callable[[set[str]], None]], str]] = {
    "email": _email,
    "markdown": _markdown,
    "plain": _plain,
    "telegram": _telegram,
    "feishu": _feishu,
    "discord": _discord,
    "slack": _slack,
    "ntfy": _ntfy,
}
