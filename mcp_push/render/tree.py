"""The small intermediate tree every dialect is emitted from, and the parser that builds it.

Markdown is parsed once (markdown-it-py, CommonMark plus ~~strikethrough~~, raw HTML off so
``<b>`` in an agent's text stays text); ``format="text"`` builds the same tree from literal
lines. markdown-it loads only when a message is parsed: only a worker renders, producers
(hook, send) never import it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

BLOCKS = frozenset({"doc", "para", "heading", "code_block", "quote", "list", "item", "rule"})
LEAVES = frozenset({"text", "code", "code_block"})  # the nodes that hold characters a person reads
SAFE_SCHEMES = ("http://", "https://", "mailto:")
BARE_URL = re.compile(r"https?://[^\s<>\"'`]+")


@dataclass(frozen=True)
class Node:
    """One node: a block (doc, para, heading, code_block, quote, list, item, rule) or an inline
    (text, strong, em, strike, code, link, image, softbreak, hardbreak).

    ``text`` is the characters of a leaf; ``href`` a link's or image's target; ``level`` a
    heading's level; ``ordered``/``start`` a list's numbering; ``lang`` a code block's language.
    """

    kind: str
    children: tuple[Node, ...] = ()
    text: str = ""
    href: str = ""
    level: int = 0
    ordered: bool = False
    start: int = 1
    lang: str = ""

    def size(self) -> int:
        """Characters a person reads in this subtree (what a cut counts)."""
        if self.kind in LEAVES:
            return len(self.text)
        return sum(child.size() for child in self.children)


@dataclass
class _Frame:
    kind: str
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


def text(value: str) -> Node:
    return Node("text", text=value)


def para(*children: Node) -> Node:
    return Node("para", tuple(children))


def doc(*blocks: Node) -> Node:
    return Node("doc", tuple(blocks))


@cache
def _parser() -> MarkdownIt:
    import logging

    from markdown_it import MarkdownIt

    # markdown-it logs every rule it tries at DEBUG: MCP_PUSH_LOG=debug would drown in it.
    logging.getLogger("markdown_it").setLevel(logging.INFO)
    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


# One line that starts with a letter and holds nothing Markdown reads (no emphasis, code, link,
# entity or escape characters; no line break, tab or control character): markdown-it would make
# it one paragraph of its text, so it is built without running markdown-it (most agent messages
# are such a line; tests/render/test_tree.py compares both ways on generated lines).
_PLAIN_LINE = re.compile(r"[^\W\d_][^\\`*_~\[\]<>&\x00-\x1f\x7f]*")


def is_plain_line(source: str) -> bool:
    """Whether ``source`` is such a line (markdown-it strips a trailing space, so none may end it)."""
    return bool(_PLAIN_LINE.fullmatch(source)) and not source[-1].isspace()


def parse(source: str, fmt: str = "markdown") -> Node:
    """The tree of ``source``: Markdown, or (``fmt="text"``) literal text kept as written."""
    if fmt == "text":
        return literal(source)
    if is_plain_line(source):
        return doc(para(*_autolinked(source)))
    return _blocks(_parser().parse(source))


def literal(source: str) -> Node:
    """Literal text: paragraphs at blank lines, every other line break kept, nothing interpreted."""
    blocks = []
    for chunk in source.replace("\r\n", "\n").split("\n\n"):
        lines = chunk.strip("\n").split("\n")
        if not chunk.strip():
            continue
        inlines: list[Node] = []
        for i, line in enumerate(lines):
            if i:
                inlines.append(Node("hardbreak"))
            if line:
                inlines.append(text(line))
        blocks.append(para(*inlines))
    return doc(*blocks)


_OPEN = {
    "paragraph_open": "para",
    "heading_open": "heading",
    "blockquote_open": "quote",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "list_item_open": "item",
}


def _blocks(tokens: list[Token]) -> Node:
    stack = [_Frame("doc")]
    for token in tokens:
        if token.type in _OPEN:
            attrs: dict[str, Any] = {}
            if token.type == "heading_open":
                attrs["level"] = int(token.tag[1:])
            elif token.type == "ordered_list_open":
                attrs.update(ordered=True, start=int(token.attrs.get("start", 1) or 1))
            stack.append(_Frame(_OPEN[token.type], attrs))
        elif token.type.endswith("_close") and len(stack) > 1:
            frame = stack.pop()
            stack[-1].children.append(Node(frame.kind, tuple(frame.children), **frame.attrs))
        elif token.type == "inline":
            stack[-1].children.extend(_inlines(token.children or []))
        elif token.type in ("fence", "code_block"):
            lang = "".join(ch for ch in token.info.split()[0] if ch.isalnum() or ch in "+-._#") if token.info else ""
            stack[-1].children.append(Node("code_block", text=token.content.rstrip("\n"), lang=lang[:20]))
        elif token.type == "hr":
            stack[-1].children.append(Node("rule"))
        elif token.content:  # anything else markdown-it may grow: keep its text
            stack[-1].children.append(para(text(token.content)))
    while len(stack) > 1:
        frame = stack.pop()
        stack[-1].children.append(Node(frame.kind, tuple(frame.children), **frame.attrs))
    return Node("doc", tuple(stack[0].children))


_INLINE_OPEN = {"strong_open": "strong", "em_open": "em", "s_open": "strike", "link_open": "link"}


def _inlines(tokens: list[Token]) -> list[Node]:
    stack = [_Frame("root")]
    for token in tokens:
        kind = token.type
        if kind in _INLINE_OPEN:
            href = str(token.attrs.get("href", "")) if kind == "link_open" else ""
            stack.append(_Frame(_INLINE_OPEN[kind], {"href": href} if href else {}))
        elif kind.endswith("_close") and len(stack) > 1:
            frame = stack.pop()
            node = Node(frame.kind, tuple(frame.children), **frame.attrs)
            if node.kind == "link" and not (node.children and safe_href(node.href)):
                # An empty link ("[]()") or one to elsewhere than the web or mail: the characters as typed.
                stack[-1].children.extend((text("["), *node.children, text(f"]({node.href})")))
            else:
                stack[-1].children.append(node)
        elif kind == "text":
            inside_link = any(frame.kind == "link" for frame in stack)
            stack[-1].children.extend(_autolinked(token.content) if not inside_link else [text(token.content)])
        elif kind == "code_inline":
            stack[-1].children.append(Node("code", text=token.content))
        elif kind in ("softbreak", "hardbreak"):
            stack[-1].children.append(Node(kind))
        elif kind == "image":
            src = str(token.attrs.get("src", ""))
            alt = token.content or "image"
            stack[-1].children.append(Node("image", (text(alt),), href=src) if safe_href(src) else text(alt))
        elif token.content:
            stack[-1].children.append(text(token.content))
    while len(stack) > 1:
        frame = stack.pop()
        stack[-1].children.extend(frame.children)
    return stack[0].children


def _autolinked(value: str) -> list[Node]:
    """Text with its bare web addresses made links, as GitHub-flavoured Markdown reads them."""
    nodes: list[Node] = []
    last = 0
    for match in BARE_URL.finditer(value):
        url = match.group(0).rstrip(".,;:!?")
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        if match.start() > last:
            nodes.append(text(value[last : match.start()]))
        nodes.append(Node("link", (text(url),), href=url))
        last = match.start() + len(url)
    if last < len(value):
        nodes.append(text(value[last:]))
    return nodes


def safe_href(href: str) -> bool:
    """Only web and mail links become links: a ``javascript:`` target never reaches a client."""
    return href.lower().startswith(SAFE_SCHEMES)


# --- cutting -------------------------------------------------------------------------------------
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


def grapheme_cut(value: str, n: int) -> int:
    """``n`` moved back so the cut never splits a combining mark, ZWJ sequence or skin tone from its base."""
    while 0 < n < len(value) and (
        unicodedata.combining(value[n])
        or value[n] in _JOINERS
        or value[n - 1] in _JOINERS
        or "\U0001f3fb" <= value[n] <= "\U0001f3ff"
    ):
        n -= 1
    return n


def truncate(node: Node, budget: int) -> tuple[Node | None, int]:
    """The first ``budget`` readable characters of ``node`` (None if nothing is left), and how
    many were kept. Structure is cut, never split: a link keeps its target, a list its numbering."""
    if node.kind in LEAVES:
        if budget <= 0:
            return None, 0
        if len(node.text) <= budget:
            return node, len(node.text)
        n = grapheme_cut(node.text, budget)
        return (replace(node, text=node.text[:n]), n) if n else (None, 0)
    if not node.children:
        return (node, 0) if budget > 0 else (None, 0)
    kept: list[Node] = []
    used = 0
    for child in node.children:
        if used >= budget:
            break
        part, count = truncate(child, budget - used)
        if part is None:
            break
        kept.append(part)
        used += count
        if count < child.size():
            break
    while kept and kept[-1].kind in ("softbreak", "hardbreak"):
        kept.pop()
    if not kept and node.kind != "doc":
        return None, 0
    return replace(node, children=tuple(kept)), used
