"""The attention rules as an agent meets them: the MCP server over real stdio, the official client,
fake providers for ntfy and two Telegram bots (``telegram`` and the instance ``telegram:2``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator

import pytest

from mcp_push.models import ChannelsDocument, SendReceipt, StatusDocument
from tests.fakes.ntfy import FakeNtfy, title_of
from tests.fakes.telegram import FakeTelegram
from tests.helpers import poll_status
from tests.test_instances import TOKEN2, SecondBot, two_bots


@pytest.fixture
def second_bot() -> Iterator[SecondBot]:
    provider = SecondBot().start()
    yield provider
    provider.stop()


def which(texts: list[str], *marks: str) -> list[str]:
    """For each sent text, the one mark it carries (a text with none or two fails the test)."""
    found = []
    for text in texts:
        (mark,) = [m for m in marks if m in text]
        found.append(mark)
    return found


def sent_texts(fake: FakeTelegram) -> list[str]:
    return [r.json()["text"] for r in fake.requests if r.path.endswith("/sendMessage")]


def test_each_kind_goes_where_its_route_says_and_a_calls_channels_win(
    mcp_client, fake: FakeNtfy, telegram: FakeTelegram, second_bot: SecondBot
) -> None:
    routes = {"MCP_PUSH_ROUTE_ERROR": "telegram:2", "MCP_PUSH_ROUTE_END": "ntfy", "MCP_PUSH_SOURCE": "off"}

    async def scenario() -> tuple[list[SendReceipt], StatusDocument, ChannelsDocument]:
        async with mcp_client({**two_bots(telegram, second_bot), **routes}) as client:
            calls = [
                ("notify_event", {"run_id": "job-1", "event": "error", "message": "migration failed"}),
                ("notify_event", {"run_id": "job-1", "event": "end", "message": "all done"}),
                ("notify_send", {"run_id": "job-1", "title": "Mine", "content": "to bot 1", "channels": ["telegram"]}),
                ("notify_send", {"run_id": "job-1", "title": "Everyone", "content": "no route for send"}),
            ]
            receipts = [SendReceipt.model_validate((await client.call_tool(t, a)).structured_content) for t, a in calls]
            doc = await poll_status(client, 30, run_id="job-1")
            channels = ChannelsDocument.model_validate((await client.call_tool("notify_channels")).structured_content)
            return receipts, doc, channels

    receipts, doc, channels = asyncio.run(scenario())
    assert [(r.channels, r.route) for r in receipts] == [
        (["telegram:2"], "MCP_PUSH_ROUTE_ERROR"),
        (["ntfy"], "MCP_PUSH_ROUTE_END"),
        (["telegram"], "channels argument"),
        (["ntfy", "telegram", "telegram:2"], "every enabled channel"),
    ]
    assert doc.status == "success" and [t.route for t in doc.tickets] == [r.route for r in receipts]
    assert sorted(which(sent_texts(second_bot), "migration failed", "Everyone")) == ["Everyone", "migration failed"]
    assert sorted(which(sent_texts(telegram), "to bot 1", "Everyone")) == ["Everyone", "to bot 1"]
    assert sorted(which([title_of(r) + r.body.decode() for r in fake.requests], "all done", "Everyone")) == [
        "Everyone",
        "all done",
    ]
    assert "MCP_PUSH_ROUTE_ERROR=telegram:2" in channels.rules and "MCP_PUSH_ROUTE_END=ntfy" in channels.rules
    assert {c.id for c in channels.channels} >= {"telegram", "telegram:2", "ntfy"}
    assert all(TOKEN2.split(":")[1] not in str(c.settings) for c in channels.channels)  # masked
    assert telegram.problems == [] and second_bot.problems == [] and fake.problems == []


def test_in_quiet_hours_the_receipt_and_status_say_held_until_when(mcp_client, fake: FakeNtfy) -> None:
    now = dt.datetime.fromtimestamp(time.time(), dt.UTC)
    window = f"{now - dt.timedelta(hours=1):%H:%M}-{now + dt.timedelta(hours=1):%H:%M}"

    async def scenario() -> tuple[SendReceipt, SendReceipt, StatusDocument]:
        async with mcp_client({"MCP_PUSH_QUIET": window, "MCP_PUSH_TZ": "UTC"}) as client:
            held = await client.call_tool("notify_send", {"run_id": "night", "title": "Done", "content": "later"})
            urgent = await client.call_tool(
                "notify_send", {"run_id": "night", "title": "Fire", "content": "now", "priority": "urgent"}
            )
            doc = await client.call_tool("notify_status", {"run_id": "night"})
            return (
                SendReceipt.model_validate(held.structured_content),
                SendReceipt.model_validate(urgent.structured_content),
                StatusDocument.model_validate(doc.structured_content),
            )

    held, urgent, doc = asyncio.run(scenario())
    assert held.status == "held" and held.held and held.held[0].startswith("ntfy: held for quiet hours until ")
    assert urgent.status != "held" and urgent.held == []  # urgent always goes through
    (delivery,) = doc.tickets[0].deliveries
    assert (delivery.status, delivery.hold) == ("held", "quiet") and delivery.held_until is not None
    assert dt.datetime.fromisoformat(delivery.held_until) > now
    assert [title_of(r) for r in fake.requests] in ([], ["Fire"])  # "Done" is not sent before the end
