"""Provider markup turned into safe HTML for the dashboard's previews.

Each reader takes the text exactly as the channel wrote it and shows it as the provider would:
Markdown is parsed by the renderer's own parser (raw HTML off, unsafe link targets dropped),
Slack mrkdwn by a small reader of its few marks, Telegram HTML by keeping only the tags Telegram
accepts. Everything else is escaped; no attribute but a checked ``href`` is ever written.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from mcp_push.render.html import EmailHtml
from mcp_push.render.tree import Node, parse, safe_href


def link(href: str, inner: str) -> str:
    """An anchor for a web or mail address; any other target is shown as text, not followed."""
    if not safe_href(href):
        return f'<span class="badlink">{inner}</span>'
    return f'<a href="{html.escape(href, quote=True)}" rel="noopener noreferrer" target="_blank">{inner}</a>'


class _Preview(EmailHtml):
    """The e-mail emitter without inline styles (the page's CSP allows none): the page's CSS styles it."""

    def block(self, node: Node) -> str:
        if node.kind == "code_block":
            return f"<pre><code>{html.escape(node.text, quote=False)}</code></pre>"
        if node.kind == "quote":
            return f"<blockquote>{self.blocks(node.children)}</blockquote>"
        return super().block(node)

    def link(self, href: str, inner: str, words: str) -> str:
        return link(href, inner or html.escape(href, quote=False))


_PREVIEW = _Preview()


def markdown(text: str) -> str:
    """Markdown as sent (CommonMark, Discord, DingTalk, WeCom, lark_md) as HTML, its escapes read as
    the provider reads them."""
    return _PREVIEW.render(parse(text, "markdown"))


# --- Slack mrkdwn ------------------------------------------------------------------------------
_SLACK_FENCE = re.compile(r"```\n?(.*?)\n?```", re.S)
_SLACK_CODE = re.compile(r"`([^`\n]+)`")
_SLACK_LINK = re.compile(r"&lt;((?:https?://|mailto:)[^|\s]*?)(?:\|([^\n]*?))?&gt;")
_SLACK_MARKS = (
    (re.compile(r"(?<![\w\u200b])\*(?=\S)([^*\n]+?)\*(?!\w)"), "b"),
    (re.compile(r"(?<![\w\u200b])_(?=\S)([^_\n]+?)_(?!\w)"), "i"),
    (re.compile(r"(?<![\w\u200b])~(?=\S)([^~\n]+?)~(?!\w)"), "s"),
)


def slack(text: str) -> str:
    """Slack mrkdwn as HTML: *bold* _italic_ ~strike~ `code` ```blocks``` <url|label> and > quotes.

    Slack's own escapes (&amp; &lt; &gt;) are read first; a mark with a zero-width space before it
    stays literal, as Slack shows it."""
    raw = html.unescape(text)
    parts: list[str] = []
    last = 0
    for match in _SLACK_FENCE.finditer(raw):
        before = raw[last : match.start()]
        parts.append(_slack_inline(before[:-1] if before.endswith("\n") else before))
        parts.append(f"<pre><code>{html.escape(match.group(1), quote=False)}</code></pre>")
        last = match.end() + (raw[match.end() : match.end() + 1] == "\n")
    parts.append(_slack_inline(raw[last:]))
    return "".join(parts)


def _slack_inline(raw: str) -> str:
    lines = []
    for line in html.escape(raw, quote=False).split("\n"):
        quoted = line.startswith("&gt; ")
        if quoted:
            line = line[5:]
        lines.append(f"<blockquote>{_slack_marks(line)}</blockquote>" if quoted else _slack_marks(line))
    return "<br>".join(lines)


def _slack_marks(line: str) -> str:
    """One escaped line with its code spans set aside, then links and *_~ marks read."""
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    line = _SLACK_CODE.sub(keep, line)
    line = _SLACK_LINK.sub(lambda m: link(html.unescape(m.group(1)), m.group(2) or m.group(1)), line)
    for pattern, tag in _SLACK_MARKS:
        line = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", line)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], line).replace("\u200b", "")


# --- Telegram HTML ----------------------------------------------------------------------------
TELEGRAM_TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "a",
}


class _TelegramReader(HTMLParser):
    """Telegram's parse_mode=HTML: its tags kept (as plain elements), anything else shown as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = TELEGRAM_TAGS.get(tag)
        if name is None:
            self.out.append(html.escape(self.get_starttag_text() or "", quote=False))
            return
        if name == "a":
            href = dict(attrs).get("href") or ""
            if safe_href(href):
                self.out.append(f'<a href="{html.escape(href, quote=True)}" rel="noopener noreferrer" target="_blank">')
            else:
                self.out.append('<a class="badlink">')
        else:
            self.out.append(f"<{name}>")
        self.open.append(name)

    def handle_endtag(self, tag: str) -> None:
        name = TELEGRAM_TAGS.get(tag)
        if name is None or name not in self.open:
            self.out.append(html.escape(f"</{tag}>", quote=False))
            return
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == name:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def close(self) -> None:
        super().close()
        self.out.extend(f"</{name}>" for name in reversed(self.open))
        self.open.clear()


def telegram(text: str) -> str:
    """A Telegram HTML message as the app shows it (line breaks kept by the caller's CSS)."""
    reader = _TelegramReader()
    reader.feed(text)
    reader.close()
    out = "".join(reader.out)
    # A block is its own line already: the line breaks around it would show as blank lines.
    out = re.sub(r"\n?(<pre>|<blockquote>)", r"\1", out)
    return re.sub(r"(</pre>|</blockquote>)\n?", r"\1", out)
