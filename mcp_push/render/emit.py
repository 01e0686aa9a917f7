"""Emitters: the tree written in one dialect, with that dialect's escaping.

The base emitter knows the shape (paragraphs, headings, lists with their indentation, quotes,
code); a dialect says how a piece is marked up and how literal text is escaped so that it
can never turn into markup. Line breaks inside a paragraph are kept as line breaks: agents and
people write one line per fact, and a notification is read as written.
"""

from __future__ import annotations

import re

from mcp_push.render.tree import Node


class Emitter:
    """Plain text: Markdown syntax removed, lists and links kept readable ("text (url)")."""

    block_sep = "\n\n"
    line_break = "\n"
    bullet = "• "
    rule_text = "──────────"
    quote_prefix = "│ "

    def render(self, node: Node) -> str:
        return self.blocks(node.children)

    # --- blocks --------------------------------------------------------------------------------
    def blocks(self, nodes: tuple[Node, ...], sep: str | None = None) -> str:
        parts = [self.block(n) for n in nodes]
        return (self.block_sep if sep is None else sep).join(p for p in parts if p)

    def block(self, node: Node) -> str:
        kind = node.kind
        if kind == "para":
            return self.inlines(node.children)
        if kind == "heading":
            return self.heading(node.level, self.inlines(node.children))
        if kind == "code_block":
            return self.code_block(node.text, node.lang)
        if kind == "quote":
            return self.quote(self.blocks(node.children))
        if kind == "list":
            return self.list(node)
        if kind == "rule":
            return self.rule_text
        return self.inlines(node.children)

    def heading(self, level: int, inner: str) -> str:
        return inner

    def code_block(self, code: str, lang: str) -> str:
        return "\n".join("    " + line if line else line for line in code.split("\n"))

    def quote(self, inner: str) -> str:
        return "\n".join(self.quote_prefix + line if line else self.quote_prefix.rstrip() for line in inner.split("\n"))

    def list(self, node: Node) -> str:
        lines = []
        for i, item in enumerate(node.children):
            marker = self.number(node.start + i) if node.ordered else self.bullet
            body = self.blocks(item.children, sep="\n") or ""
            pad = " " * len(marker)
            first, *rest = body.split("\n")
            lines.append(marker + first)
            lines.extend(pad + line if line else line for line in rest)
        return "\n".join(lines)

    def number(self, n: int) -> str:
        return f"{n}. "

    # --- inlines -------------------------------------------------------------------------------
    def inlines(self, nodes: tuple[Node, ...]) -> str:
        out: list[str] = []
        at_start = True
        for node in nodes:
            if node.kind in ("softbreak", "hardbreak"):
                out.append(self.line_break)
                at_start = True
                continue
            out.append(self.inline(node, at_start))
            at_start = False
        return "".join(out)

    def inline(self, node: Node, at_start: bool = False) -> str:
        kind = node.kind
        if kind == "text":
            return self.escape(node.text, at_start)
        if kind == "code":
            return self.code(node.text)
        inner = self.inlines(node.children)
        if kind == "strong":
            return self.strong(inner)
        if kind == "em":
            return self.em(inner)
        if kind == "strike":
            return self.strike(inner)
        if kind == "link":
            return self.link(node.href, inner, plain(node))
        if kind == "image":
            return self.link(node.href, inner, plain(node))
        return inner

    def escape(self, value: str, at_start: bool = False) -> str:
        return value

    def code(self, value: str) -> str:
        return value

    def strong(self, inner: str) -> str:
        return inner

    def em(self, inner: str) -> str:
        return inner

    def strike(self, inner: str) -> str:
        return inner

    def link(self, href: str, inner: str, words: str) -> str:
        return href if words in (href, href.removeprefix("mailto:")) else f"{inner} ({href})"


def plain(node: Node) -> str:
    """The readable characters of an inline subtree, unmarked."""
    if node.text:
        return node.text
    return "".join(" " if c.kind in ("softbreak", "hardbreak") else plain(c) for c in node.children)


def fence_for(code: str, char: str = "`") -> str:
    """A code fence longer than any run of ``char`` inside the code, so the code cannot close it."""
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", code)), default=0)
    return char * max(3, longest + 1)


def code_span(value: str) -> str:
    """A CommonMark code span that holds any text (backticks inside get a longer delimiter)."""
    longest = max((len(m) for m in re.findall("`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


_LINE_START = re.compile(r"^(\s*)([#>=+*-]|\d{1,9}(?=[.)]))")  # headings, quotes, rules, lists
_ENTITY = re.compile(r"&(?=#?\w+;)")


class CommonMark(Emitter):
    """Clean CommonMark (ntfy, Gotify, Bark, ServerChan, PushDeer, PushPlus): backslash escapes."""

    line_break = "  \n"
    bullet = "- "
    rule_text = "---"
    quote_prefix = "> "
    specials = "\\`*_[]<>~|"

    def escape(self, value: str, at_start: bool = False) -> str:
        out = "".join("\\" + ch if ch in self.specials else ch for ch in value)
        out = _ENTITY.sub("\\\\&", out)
        if at_start:
            out = self._line_start(out)
        return out

    def _line_start(self, value: str) -> str:
        spaces = len(value) - len(value.lstrip(" "))
        if spaces:  # leading spaces would make an indented code block: keep them as no-break spaces
            value = "\u00a0" * spaces + value[spaces:]
        match = _LINE_START.match(value)
        if not match:
            return value
        mark = match.group(2)
        if mark.isdigit():
            end = match.end(2)
            return value[:end] + "\\" + value[end:]
        return value[: match.start(2)] + "\\" + value[match.start(2) :]

    def heading(self, level: int, inner: str) -> str:
        return "#" * min(level, 6) + " " + inner

    def code_block(self, code: str, lang: str) -> str:
        fence = fence_for(code)
        return f"{fence}{lang}\n{code}\n{fence}"

    def code(self, value: str) -> str:
        return code_span(value)

    def strong(self, inner: str) -> str:
        return f"**{inner}**" if inner else ""

    def em(self, inner: str) -> str:
        return f"*{inner}*" if inner else ""

    def strike(self, inner: str) -> str:
        return f"~~{inner}~~" if inner else ""

    autolinks = True  # <https://…> for a link whose words are its address

    def link(self, href: str, inner: str, words: str) -> str:
        target = href.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
        if self.autolinks and words == href and href.startswith(("http://", "https://")):
            return "<" + href.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E") + ">"
        return f"[{inner or self.escape(href)}]({target})"


class Discord(CommonMark):
    """Discord's Markdown: CommonMark-like, headings up to ###, no rules; ``<`` escaped too
    (``<@id>``, ``<t:…>`` would render as a mention or a timestamp)."""

    line_break = "\n"
    rule_text = "———"

    def heading(self, level: int, inner: str) -> str:
        return "#" * min(level, 3) + " " + inner


class DingTalk(CommonMark):
    """DingTalk robot markdown: headings, bold, italic, links, lists, quotes; no strikethrough."""

    autolinks = False

    def strike(self, inner: str) -> str:
        return inner


class WeCom(CommonMark):
    """WeCom robot markdown: headings, bold, links, inline code, quotes; no lists, italic or code
    blocks, so those are written as readable lines."""

    line_break = "\n"
    autolinks = False

    def em(self, inner: str) -> str:
        return inner

    def strike(self, inner: str) -> str:
        return inner

    def code_block(self, code: str, lang: str) -> str:
        return "\n".join("> " + self.code(line) if line.strip() else ">" for line in code.split("\n"))


class Feishu(CommonMark):
    """Feishu card markdown (lark_md): escapes are HTML entities, headings become bold lines."""

    line_break = "\n"
    autolinks = False
    specials = "\\`*_[]<>~#&|"

    def escape(self, value: str, at_start: bool = False) -> str:
        out = "".join(f"&#{ord(ch)};" if ch in self.specials else ch for ch in value)
        if at_start:
            stripped = out.lstrip(" ")
            out = "\u00a0" * (len(out) - len(stripped)) + stripped
            match = re.match(r"(\d{1,9})([.)])|[-+=]", out)
            if match:
                cut = match.end() - 1
                out = out[:cut] + f"&#{ord(out[cut])};" + out[cut + 1 :]
        return out

    def heading(self, level: int, inner: str) -> str:
        return f"**{inner}**"

    def quote(self, inner: str) -> str:
        return "\n".join("┃ " + line for line in inner.split("\n"))


class Slack(Emitter):
    """Slack mrkdwn: only ``& < >`` have escapes; a literal ``* _ ~ ` `` gets a zero-width space
    before it so that it can never open or close a span."""

    bullet = "• "
    quote_prefix = "> "
    rule_text = "———"

    def escape(self, value: str, at_start: bool = False) -> str:
        out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"([*_~`])", "\u200b\\1", out)

    def heading(self, level: int, inner: str) -> str:
        return f"*{inner}*"

    def code_block(self, code: str, lang: str) -> str:
        body = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("```", "`\u200b``")
        return f"```\n{body}\n```"

    def code(self, value: str) -> str:
        body = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
        return f"`{body}`" if body.strip() else body

    def strong(self, inner: str) -> str:
        return f"*{inner}*" if inner else ""

    def em(self, inner: str) -> str:
        return f"_{inner}_" if inner else ""

    def strike(self, inner: str) -> str:
        return f"~{inner}~" if inner else ""

    def link(self, href: str, inner: str, words: str) -> str:
        target = href.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        label = inner.replace("|", "¦")
        return f"<{target}|{label}>" if label and words != href else f"<{target}>"
