"""The rendering half of the channel base: a channel file only names its dialect and its limit."""

from __future__ import annotations

from mcp_push.channels import HttpClients
from mcp_push.channels.base import Message
from mcp_push.channels.gotify import Gotify
from mcp_push.channels.qmsg import Qmsg
from mcp_push.render import measure

GOTIFY = {"GOTIFY_URL": "https://push.example.com", "GOTIFY_TOKEN": "t" * 15}


def gotify(**env: str) -> Gotify:
    return Gotify({**GOTIFY, **env}, clients=HttpClients(1))


def test_render_body_writes_the_dialect_with_link_and_source_below() -> None:
    message = Message("t", "**done** <x>", url="https://ci.example.com/1", source="proj · main")
    assert gotify().render_body(message) == "**done** \\<x\\>\n\n🔗 <https://ci.example.com/1>\n\n*proj · main*"
    assert gotify().render_body(message, link=False, source=False, dialect="plain") == "done <x>"


def test_render_body_cuts_to_the_limit_keeping_the_tail() -> None:
    message = Message("t", "构建 " * 3000, source="proj · main")
    body = gotify().render_body(message, limit=500, unit="bytes")
    assert measure(body, "bytes") <= 500 and body.endswith("*proj · main*") and "(cut: " in body


def test_text_format_is_literal() -> None:
    assert gotify().render_body(Message("t", "**x**", format="text")) == "\\*\\*x\\*\\*"


def test_level_comes_from_the_message_the_setting_or_the_event() -> None:
    assert gotify().level(Message("t", "c", event="error")) == "high"
    assert gotify().level(Message("t", "c", event="error", priority="low")) == "low"
    assert gotify(MCP_PUSH_PRIORITY_ERROR="urgent").level(Message("t", "c", event="error")) == "urgent"
    assert gotify().priority(Message("t", "c", event="end")) == 5
    assert gotify(GOTIFY_PRIORITY="7").priority(Message("t", "c", event="end")) == 7
    assert gotify(GOTIFY_PRIORITY="7").priority(Message("t", "c", event="error")) == 8


def test_plain_text_joins_title_and_body_within_a_limit() -> None:
    qmsg = Qmsg({"QMSG_KEY": "k" * 32, "QMSG_TYPE": "send"}, clients=HttpClients(1))
    assert qmsg.plain_text(Message("Title", "- **a**\n- b")) == "Title\n\n• a\n• b"
    cut = qmsg.plain_text(Message("Title", "x" * 500), limit=100)
    assert len(cut) <= 100 and cut.startswith("Title\n\n") and "(cut: " in cut
    assert qmsg.plain_text(Message("Title", "")) == "Title"
