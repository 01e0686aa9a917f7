"""The two HTML dialects: Telegram's HTML parse mode and the body of an HTML e-mail.

Everything that is not one of the tags written here is escaped, so an agent's ``<script>``
or ``&nbsp;`` arrives as the characters it typed.
"""

from __future__ import annotations

from html import escape

from mcp_push.render.emit import Emitter
from mcp_push.render.tree import Node


def _text(value: str) -> str:
    return escape(value, quote=False)


class TelegramHtml(Emitter):
    """Telegram ``parse_mode=HTML``: <b> <i> <s> <code> <pre> <a> <blockquote>; headings bold, lists as lines."""

    rule_text = "———"

    def escape(self, value: str, at_start: bool = False) -> str:
        return _text(value)

    def heading(self, level: int, inner: str) -> str:
        return f"<b>{inner}</b>"

    def code_block(self, code: str, lang: str) -> str:
        attr = f' class="language-{escape(lang)}"' if lang else ""
        return f"<pre><code{attr}>{_text(code)}</code></pre>"

    def quote(self, inner: str) -> str:
        return f"<blockquote>{inner}</blockquote>"

    def code(self, value: str) -> str:
        return f"<code>{_text(value)}</code>"

    def strong(self, inner: str) -> str:
        return f"<b>{inner}</b>" if inner else ""

    def em(self, inner: str) -> str:
        return f"<i>{inner}</i>" if inner else ""

    def strike(self, inner: str) -> str:
        return f"<s>{inner}</s>" if inner else ""

    def link(self, href: str, inner: str, words: str) -> str:
        return f'<a href="{escape(href)}">{inner or _text(href)}</a>'


class EmailHtml(Emitter):
    """An e-mail's HTML body: ordinary elements, inline styles only where mail clients need them."""

    block_sep = "\n"
    line_break = "<br>\n"

    def block(self, node: Node) -> str:
        kind = node.kind
        if kind == "para":
            return f"<p>{self.inlines(node.children)}</p>"
        if kind == "heading":
            level = min(node.level + 1, 6)  # the mail's title is the <h1>-like heading
            return f"<h{level}>{self.inlines(node.children)}</h{level}>"
        if kind == "code_block":
            return f'<pre style="background:#f6f8fa;padding:8px;overflow:auto"><code>{_text(node.text)}</code></pre>'
        if kind == "quote":
            inner = self.blocks(node.children)
            return f'<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:8px">{inner}</blockquote>'
        if kind == "list":
            tag = "ol" if node.ordered else "ul"
            start = f' start="{node.start}"' if node.ordered and node.start != 1 else ""
            items = "".join(f"<li>{self._item(item)}</li>" for item in node.children)
            return f"<{tag}{start}>{items}</{tag}>"
        if kind == "rule":
            return "<hr>"
        return self.inlines(node.children)

    def _item(self, item: Node) -> str:
        parts = [self.inlines(c.children) if c.kind == "para" else self.block(c) for c in item.children]
        return "\n".join(p for p in parts if p)

    def escape(self, value: str, at_start: bool = False) -> str:
        return _text(value)

    def code(self, value: str) -> str:
        return f"<code>{_text(value)}</code>"

    def strong(self, inner: str) -> str:
        return f"<strong>{inner}</strong>"

    def em(self, inner: str) -> str:
        return f"<em>{inner}</em>"

    def strike(self, inner: str) -> str:
        return f"<del>{inner}</del>"

    def link(self, href: str, inner: str, words: str) -> str:
        return f'<a href="{escape(href)}">{inner or _text(href)}</a>'


def email_document(title: str, body: str, *, url: str | None, source: str | None, colour: str) -> str:
    """A small, complete HTML e-mail: a coloured band with the title, the body, a link, the source."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title></head>",
        '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;line-height:1.45;color:#1f2328">',
        f'<h1 style="font-size:18px;border-left:6px solid {colour};padding-left:8px">{_text(title)}</h1>',
        body,
    ]
    if url:
        parts.append(f'<p><a href="{escape(url)}" style="font-weight:600">Open {_text(url)}</a></p>')
    if source:
        parts.append(f'<p style="color:#59636e;font-size:12px">{_text(source)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
