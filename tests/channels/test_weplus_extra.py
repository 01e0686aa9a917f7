"""WePlusBot: long content switches to the html template, as QingLong does."""

from __future__ import annotations

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.weplus import WePlusBot


def test_template_follows_length() -> None:
    channel = WePlusBot({"WE_PLUS_BOT_TOKEN": "t" * 32, "WE_PLUS_BOT_RECEIVER": "wxid_a"}, clients=HttpClients(5))
    short = channel.request(Message("t", "a <b>")).json
    long = channel.request(Message("t", "<b>\n" * 300)).json
    assert (short["template"], short["content"], short["version"], short["receiver"]) == (
        "txt",
        "a <b>",
        "pro",
        "wxid_a",
    )
    assert long["template"] == "html" and long["content"].startswith("&lt;b&gt;<br>")
