"""Per-channel rendering: parse a message once, write it in each provider's dialect, cut it to fit.

``render(content, dialect, fmt)`` parses Markdown (or, with ``fmt="text"``, literal text) into
a small tree (``tree.py``) and ``fit(rendered, limit, unit)`` writes it in the dialect within a
provider's limit: the tree is cut, never the written markup, so a cut can not break a tag, an
entity, a code fence or a multi-byte character; a visible marker says how much was cut.
``unit`` is how the provider counts: ``chars`` (code points), ``bytes`` (UTF-8) or ``utf16``
(Telegram counts UTF-16 code units). markdown-it loads on the first parse, and the tree and
the emitters on the first call: every producer imports ``render.priority``, which runs this
package's ``__init__``, and a hook renders nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_push.render.emit import Emitter
    from mcp_push.render.tree import Node

FORMATS = ("markdown", "text")
CUT_MARKER = "… (cut: {n} more characters)"
# Providers that take clean CommonMark share its emitter.
COMMONMARK_ALIASES = ("ntfy", "gotify", "bark", "serverchan", "pushdeer", "pushplus")
# The keys of _emitters(), written out so that naming them imports no emitter (a test keeps them equal).
DIALECTS = (
    "plain",
    "commonmark",
    "telegram_html",
    "slack_mrkdwn",
    "discord_markdown",
    "dingtalk_markdown",
    "wecom_markdown",
    "feishu",
    "email_html",
    *COMMONMARK_ALIASES,
)


@cache
def _emitters() -> dict[str, Emitter]:
    """One emitter per dialect, made on the first write."""
    from mcp_push.render import emit, html  # here, not at import: a producer never writes a dialect

    made: dict[str, Emitter] = {
        "plain": emit.Emitter(),
        "commonmark": emit.CommonMark(),
        "telegram_html": html.TelegramHtml(),
        "slack_mrkdwn": emit.Slack(),
        "discord_markdown": emit.Discord(),
        "dingtalk_markdown": emit.DingTalk(),
        "wecom_markdown": emit.WeCom(),
        "feishu": emit.Feishu(),
        "email_html": html.EmailHtml(),
    }
    for alias in COMMONMARK_ALIASES:
        made[alias] = made["commonmark"]
    return made


@dataclass(frozen=True)
class Rendered:
    """A parsed message bound to a dialect; ``tail`` blocks (a link, the source line) are never cut."""

    tree: Node
    dialect: str
    tail: tuple[Node, ...] = ()

    @property
    def text(self) -> str:
        """The whole message in the dialect, uncut."""
        from mcp_push.render.tree import doc  # the tree loads with the first message rendered

        return write(doc(*self.tree.children, *self.tail), self.dialect)


def write(node: Node, dialect: str) -> str:
    try:
        emitter = _emitters()[dialect]
    except KeyError:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}") from None
    return emitter.render(node)


def render(source: str, dialect: str, fmt: str = "markdown", *, tail: tuple[Node, ...] = ()) -> Rendered:
    """``source`` parsed (Markdown, or literal with ``fmt="text"``) for ``dialect``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    from mcp_push.render.tree import parse  # the tree loads with the first message rendered

    return Rendered(parse(source, fmt), dialect, tail)


def measure(value: str, unit: str = "chars") -> int:
    """Length as a provider counts it."""
    if unit == "chars":
        return len(value)
    if unit == "bytes":
        return len(value.encode("utf-8"))
    if unit == "utf16":
        return len(value.encode("utf-16-le")) // 2
    raise ValueError(f"unit must be chars, bytes or utf16, not {unit!r}")


def marker(cut: int) -> Node:
    """The visible note at the end of a cut message."""
    from mcp_push.render.tree import Node, para, text  # the tree loads with the first message rendered

    return para(Node("em", (text(CUT_MARKER.format(n=cut)),)))


def fit(rendered: Rendered, limit: int | None, unit: str = "chars") -> str:
    """The message written in its dialect, at most ``limit`` long in ``unit``.

    When the whole does not fit, the longest head of the tree that fits together with the cut
    marker and the tail is kept (binary search over readable characters, each candidate written
    out and measured, so escapes and tags are counted as the provider counts them).
    """
    from mcp_push.render.tree import doc, truncate  # the tree loads with the first message rendered

    whole = rendered.text
    if limit is None or measure(whole, unit) <= limit:
        return whole
    total = rendered.tree.size()

    def attempt(keep: int) -> str:
        head, kept = truncate(rendered.tree, keep)
        blocks = head.children if head is not None else ()
        return write(doc(*blocks, marker(total - kept), *rendered.tail), rendered.dialect)

    low, high = 0, total
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if measure(attempt(mid), unit) <= limit else (low, mid - 1)
    best = attempt(low)
    if measure(best, unit) <= limit:
        return best
    # Not even the marker and the tail fit (a tiny limit): the marker alone, else an ellipsis.
    for note in (CUT_MARKER.format(n=total), "…"):
        if measure(note, unit) <= limit:
            return note
    return ""


def clip(value: str, limit: int) -> str:
    """One line of text (a title) at most ``limit`` characters, an ellipsis where it was cut."""
    line = " ".join(value.split())
    if len(line) <= limit:
        return line
    from mcp_push.render.tree import grapheme_cut  # only a title too long for its channel needs it

    return line[: grapheme_cut(line, limit - 1)] + "…"


def link_line(url: str) -> Node:
    """A tail block: the message's URL as a link (channels without a native button)."""
    from mcp_push.render.tree import Node, para, text  # the tree loads with the first message rendered

    target = Node("link", (text(url),), href=url) if url.lower().startswith(("http://", "https://")) else text(url)
    return para(text("🔗 "), target)


def source_line(source: str) -> Node:
    """A tail block: where the message came from, set apart in italics."""
    from mcp_push.render.tree import Node, para, text  # the tree loads with the first message rendered

    return para(Node("em", (text(source),)))


__all__ = [
    "CUT_MARKER",
    "DIALECTS",
    "FORMATS",
    "Rendered",
    "clip",
    "fit",
    "link_line",
    "marker",
    "measure",
    "render",
    "source_line",
    "write",
]
