"""The plain-line shortcut in ``tree.parse`` builds exactly the tree markdown-it would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_push.render import tree
from mcp_push.render.tree import is_plain_line, parse


def by_markdown_it(source: str) -> tree.Node:
    return tree._blocks(tree._parser().parse(source))


# Every ASCII character Markdown might read, the whitespace it might strip or keep, and letters,
# marks and joiners from outside ASCII, so generated lines meet every edge of the shortcut's rule.
ALPHABET = (
    "abcXYZ019 #!?.,:;'\"()[]{}<>/\\|+-=_*~`&%$@^\t\n\r\x00\x0b\x0c\u00a0\u3000\u2028\u200b\u200d\ufe0fé中ß\u0301🚀"
)
LINES = st.text(alphabet=ALPHABET, min_size=1, max_size=40)


@settings(max_examples=3000, deadline=None)
@given(st.builds(lambda head, rest: head + rest, st.sampled_from("aZé中ßx"), LINES))
def test_a_line_that_takes_the_shortcut_parses_as_markdown_it_parses_it(source: str) -> None:
    if is_plain_line(source):
        assert parse(source) == by_markdown_it(source)


@pytest.mark.parametrize(
    "source",
    [
        "tp #12",
        "Task finished: 3 files changed, 2 tests added!",
        "Deploy done, see https://ci.example.com/run/42.",
        "Build (release) failed; exit code 2?",
        "构建完成 — 用时 3 分钟",
        "a  b   c",
        "x = 1 + 2 - 3 | 4 # 5",
    ],
)
def test_everyday_lines_take_the_shortcut_and_match_markdown_it(source: str) -> None:
    assert is_plain_line(source)
    assert parse(source) == by_markdown_it(source)


@pytest.mark.parametrize(
    "source",
    [
        "# heading",
        "- item",
        "1. first",
        "3) third",
        "**bold** text",
        "a *b* c",
        "snake_case_name",
        "see `code`",
        "~~gone~~",
        "[link](https://example.com)",
        "a <b> c",
        "AT&amp;T",
        "escaped \\* star",
        "two\nlines",
        "tab\there",
        "trailing space ",
        "    indented code",
    ],
)
def test_lines_markdown_reads_go_through_markdown_it(source: str) -> None:
    assert not is_plain_line(source)
