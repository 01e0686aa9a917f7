"""The renderer: each dialect's markup and escaping, literal text surviving every dialect, and cuts
that stay within a limit without breaking markup or characters."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from mcp_push.render import DIALECTS, fit, link_line, measure, render, source_line

SPECIALS = "_*[]()~>#+-=|{}.!"
MARKDOWN = (
    "# Title *x*\n\n- a **b** `c`\n  - nested [link](https://ex.com/a_(b)?q=1&r=2)\n\n"
    "```py\nprint('<&>')\n```\n\n> quote\n\n~~gone~~ <b>raw</b>"
)


def test_telegram_html_uses_only_its_tags_and_escapes_the_rest() -> None:
    out = render(MARKDOWN, "telegram_html").text
    assert "<b>Title <i>x</i></b>" in out
    assert '<a href="https://ex.com/a_(b)?q=1&amp;r=2">link</a>' in out
    assert "<pre><code class=\"language-py\">print('&lt;&amp;&gt;')</code></pre>" in out
    assert "<s>gone</s> &lt;b&gt;raw&lt;/b&gt;" in out
    assert set(re.findall(r"</?([a-z]+)", out)) <= {"b", "i", "s", "code", "pre", "a", "blockquote"}


def test_slack_escapes_only_what_it_can_and_writes_its_own_links() -> None:
    out = render("a & b < c > d [site](https://x.io/?a=1&b=2) **bold** _it_", "slack_mrkdwn").text
    assert out == "a &amp; b &lt; c &gt; d <https://x.io/?a=1&amp;b=2|site> *bold* _it_"
    literal = render("*not bold* ~x~", "slack_mrkdwn", "text").text
    assert "*not bold*" not in literal and literal.replace("\u200b", "") == "*not bold* ~x~"


def test_plain_removes_syntax_and_keeps_links_readable() -> None:
    out = render(MARKDOWN, "plain").text
    assert out.startswith("Title x\n\n• a b c\n  • nested link (https://ex.com/a_(b)?q=1&r=2)")
    assert "**" not in out and "`" not in out and "gone <b>raw</b>" in out
    assert render("<https://x.io>", "plain").text == "https://x.io"


def test_unsafe_and_empty_links_stay_as_typed() -> None:
    assert render("[x](javascript:alert(1)) []()", "telegram_html").text == "[x](javascript:alert(1)) []()"
    assert "href" not in render("[x](javascript:alert(1))", "email_html").text


def test_email_html_is_escaped_html() -> None:
    out = render("**b** <script>x</script>\n\n1. one\n2. two", "email_html").text
    assert out == "<p><strong>b</strong> &lt;script&gt;x&lt;/script&gt;</p>\n<ol><li>one</li><li>two</li></ol>"


def test_tail_blocks_follow_the_body() -> None:
    out = render("body", "commonmark", tail=(link_line("https://x.io/a"), source_line("p · main"))).text
    assert out == "body\n\n🔗 <https://x.io/a>\n\n*p · main*"


def test_unknown_dialect_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect"):
        render("x", "klingon")
    with pytest.raises(ValueError, match="format"):
        render("x", "plain", "rst")


# --- literal text survives a Markdown reader ---------------------------------------------------
MD = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def _read_back(markdown: str) -> str:
    """What a CommonMark reader shows for ``markdown``: its text, whitespace collapsed."""
    shown = html.unescape(re.sub(r"<[^>]+>", " ", MD.render(markdown)))
    return " ".join(shown.split())


LINES = st.text(alphabet=st.sampled_from(list(SPECIALS + "<&>`\\ \n abc1.构🚀")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(LINES)
@pytest.mark.parametrize("dialect", ["commonmark", "discord_markdown", "dingtalk_markdown", "feishu"])
def test_literal_text_reads_back_unchanged(dialect: str, value: str) -> None:
    out = render(value, dialect, "text").text
    assert _read_back(out) == " ".join(value.split())


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_literal_text_in_telegram_is_only_text(value: str) -> None:
    out = render(value, "telegram_html", "text").text
    assert "<" not in out.replace("&lt;", "")
    assert " ".join(html.unescape(out).split()) == " ".join(value.split())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_special_characters_in_every_dialect(dialect: str) -> None:
    out = render(f"{SPECIALS} <&>", dialect, "text").text
    assert out, dialect
    if dialect in ("telegram_html", "email_html", "slack_mrkdwn"):
        assert "<&>" not in out and "&lt;&amp;&gt;" in out


# --- cutting ---------------------------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.broken = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.broken = True


def _balanced(out: str) -> bool:
    parser = _Tags()
    parser.feed(out)
    parser.close()
    return not parser.broken and not parser.stack and not re.search(r"&[#\w]*$", out)


BODIES = st.text(alphabet=st.sampled_from(list("ab *_`[]()<&>\n#-1.构🚀👍🏽é\u0301")), min_size=50, max_size=400)


@settings(max_examples=200, deadline=None)
@given(BODIES, st.integers(min_value=40, max_value=300), st.sampled_from(["chars", "bytes", "utf16"]))
@pytest.mark.parametrize("dialect", ["telegram_html", "email_html"])
def test_a_cut_html_message_fits_and_stays_well_formed(dialect: str, body: str, limit: int, unit: str) -> None:
    out = fit(render(body, dialect), limit, unit)
    assert measure(out, unit) <= limit
    assert _balanced(out)
    if measure(render(body, dialect).text, unit) > limit:
        assert "more characters" in out


@settings(max_examples=200, deadline=None)
@given(BODIES, st.integers(min_value=40, max_value=300))
@pytest.mark.parametrize("dialect", ["commonmark", "slack_mrkdwn", "discord_markdown", "feishu", "wecom_markdown"])
def test_a_cut_markdown_message_fits(dialect: str, body: str, limit: int) -> None:
    out = fit(render(body, dialect), limit, "bytes")
    assert len(out.encode("utf-8")) <= limit
    if "(cut: " in out and dialect != "slack_mrkdwn":
        # The marker is read as text, not swallowed by a construct the cut left open (a code fence).
        assert re.search(r"<(em|p)>… \(cut: \d+ more characters\)", MD.render(out)), out


def test_cut_counts_utf16_and_keeps_characters_whole() -> None:
    body = "🚀" * 3000  # two UTF-16 units each
    out = fit(render(body, "telegram_html"), 4096, "utf16")
    assert measure(out, "utf16") <= 4096 and "\ufffd" not in out
    kept = out.count("🚀")
    assert 2000 < kept < 2048 and f"cut: {3000 - kept} more characters" in out
    family = "👨‍👩‍👧‍👦"
    cut = fit(render(family * 50, "plain"), 120, "chars")
    assert cut.split("\n")[0].endswith(family)  # never half a ZWJ sequence


def test_the_tail_is_never_cut() -> None:
    rendered = render("x" * 1000, "commonmark", tail=(source_line("proj · main"),))
    out = fit(rendered, 200)
    assert out.endswith("*proj · main*") and len(out) <= 200 and "(cut: " in out


def test_a_tiny_limit_still_says_it_cut() -> None:
    assert fit(render("x" * 100, "plain"), 28) == "… (cut: 100 more characters)"
    assert fit(render("x" * 100, "plain"), 10) == "…"


def test_rendering_does_not_load_markdown_it_for_producers() -> None:
    code = (
        "import sys, mcp_push.render, mcp_push.render.source, mcp_push.render.priority, mcp_push.render.links;"
        "from mcp_push.channels import all_channels; all_channels();"
        "assert 'markdown_it' not in sys.modules, 'markdown_it imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bare_addresses_become_links_in_markdown_only() -> None:
    source = "see https://ci.example.com/a_b?x=(2)). then"
    assert render(source, "telegram_html").text == (
        'see <a href="https://ci.example.com/a_b?x=(2)">https://ci.example.com/a_b?x=(2)</a>). then'
    )
    assert render(source, "commonmark").text == "see <https://ci.example.com/a_b?x=(2)>). then"
    assert render(source, "slack_mrkdwn").text == "see <https://ci.example.com/a_b?x=(2)>). then"
    assert "<a" not in render(source, "telegram_html", "text").text
