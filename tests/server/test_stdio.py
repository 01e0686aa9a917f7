"""The MCP server over real stdio, driven by the official MCP client."""

from __future__ import annotations

import asyncio

import pytest

from mcp_push.models import SendReceipt, StatusDocument
from tests.helpers import TOOLS, hold_provider, poll_status, wait_until


def test_tools_and_prompt_are_listed(mcp_client) -> None:
    async def scenario():
        async with mcp_client() as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            guidelines = await client.get_prompt("mcp-push-guidelines")
        return tools, prompts, guidelines

    tools, prompts, guidelines = asyncio.run(scenario())
    assert set(tools) == TOOLS
    assert all(tools[name].output_schema for name in TOOLS)
    assert set(tools["notify_send"].input_schema["required"]) == {"title", "content"}
    assert prompts == ["mcp-push-guidelines"]
    text = guidelines.messages[0].content.text
    assert "Do not notify" in text and "approve" in text


def test_send_returns_before_the_provider_answers(mcp_client, fake) -> None:
    """The ticket comes back while the provider still holds the request (how fast: bench/latency.py)."""
    release = hold_provider(fake)

    async def scenario():
        async with mcp_client() as client:
            result = await client.call_tool(
                "notify_send", {"title": "Tests passed", "content": "412 passed", "run_id": "ci-7"}
            )
            meanwhile = StatusDocument.model_validate(
                (await client.call_tool("notify_status", {"run_id": "ci-7"})).structured_content
            )
            release.set()
            doc = await poll_status(client, 20, run_id="ci-7")
            return result, meanwhile, doc

    result, meanwhile, doc = asyncio.run(scenario())
    assert not result.is_error
    receipt = SendReceipt.model_validate(result.structured_content)
    assert receipt.status == "queued" and receipt.run_id == "ci-7" and receipt.channels == ["ntfy"]
    assert receipt.ticket in result.content[0].text  # the readable block names the ticket
    assert meanwhile.tickets[0].deliveries[0].status in ("pending", "in_flight")  # the provider had not answered
    assert doc.status == "success"
    assert doc.tickets[0].deliveries[0].status == "delivered"
    assert fake.requests[0].headers["title"] == "Tests passed"


BAD_INPUTS = [
    ("notify_send", {"title": "", "content": "x"}, "title"),
    ("notify_send", {"title": "t", "content": "   "}, "content"),
    ("notify_send", {"content": "x"}, "title"),
    ("notify_send", {"title": "t" * 1001, "content": "x"}, "1,000"),
    ("notify_send", {"title": "t", "content": "c" * 100_001}, "100,000"),
    ("notify_send", {"title": "t", "content": "c", "run_id": "bad id!"}, "run_id"),
    ("notify_send", {"title": "t", "content": "c", "run_id": "r" * 129}, "run_id"),
    ("notify_send", {"title": "t", "content": "c", "channels": ["carrier-pigeon"]}, "unknown channel"),
    ("notify_send", {"title": "t", "content": "c", "channels": ["telegram"]}, "TG_BOT_TOKEN"),
    ("notify_event", {"run_id": "r", "event": "finished", "message": "m"}, "event"),
    ("notify_event", {"run_id": "r", "event": "end", "message": ""}, "message"),
    ("notify_event", {"run_id": "r", "event": "end", "message": "m", "data": [1, 2]}, "data"),
    ("notify_event", {"run_id": "r", "event": "end", "message": "m", "data": {"x": "y" * 70_000}}, "64 KiB"),
    ("notify_status", {}, "exactly one"),
    ("notify_status", {"ticket": "tk-nope"}, "no ticket"),
]


def test_bad_input_is_a_clear_tool_error_and_nothing_is_written(mcp_client, ledger_of, fake) -> None:
    async def scenario():
        async with mcp_client() as client:
            results = [await client.call_tool(tool, args) for tool, args, _ in BAD_INPUTS]
            still = await client.call_tool("notify_send", {"title": "t", "content": "after the errors"})
            return results, still

    results, still = asyncio.run(scenario())
    for (tool, args, expected), result in zip(BAD_INPUTS, results, strict=True):
        assert result.is_error, (tool, args)
        assert expected in result.content[0].text, (tool, expected, result.content[0].text[:300])
    assert not still.is_error  # the server kept serving
    ledger = ledger_of()
    try:
        tickets = ledger.dump_table("tickets")
    finally:
        ledger.close()
    assert [t["content"] for t in tickets] == ["after the errors"]


def test_event_policy_update_recorded_end_pushed(mcp_client, fake) -> None:
    async def scenario():
        async with mcp_client() as client:
            update = await client.call_tool(
                "notify_event", {"run_id": "job-1", "event": "update", "message": "50% done"}
            )
            end = await client.call_tool(
                "notify_event",
                {"run_id": "job-1", "event": "end", "message": "Done", "data": {"tests": 42}},
            )
            doc = await poll_status(client, 15, run_id="job-1")
            return update, end, doc

    update, end, doc = asyncio.run(scenario())
    u = SendReceipt.model_validate(update.structured_content)
    e = SendReceipt.model_validate(end.structured_content)
    assert u.status == "recorded" and u.channels == [] and "MCP_PUSH_EVENTS" in (u.reason or "")
    assert e.status == "queued" and e.channels == ["ntfy"]
    assert [t.status for t in doc.tickets] == ["recorded", "success"]
    assert doc.status == "success"
    (request,) = fake.requests  # only the end event reached the provider
    assert b"Done" in request.body and b"tests: 42" in request.body


def test_mcp_push_events_is_honoured(mcp_client, fake) -> None:
    async def scenario():
        async with mcp_client({"MCP_PUSH_EVENTS": "start,end"}) as client:
            start = await client.call_tool("notify_event", {"run_id": "job-2", "event": "start", "message": "go"})
            error = await client.call_tool("notify_event", {"run_id": "job-2", "event": "error", "message": "boom"})
            return start, error

    start, error = asyncio.run(scenario())
    assert SendReceipt.model_validate(start.structured_content).channels == ["ntfy"]
    assert SendReceipt.model_validate(error.structured_content).status == "recorded"


def test_idempotency_key_over_mcp(mcp_client, fake) -> None:
    async def scenario():
        async with mcp_client() as client:
            args = {"title": "t", "content": "c", "idempotency_key": "deploy-42"}
            return [await client.call_tool("notify_send", args) for _ in range(3)]

    first, *again = (SendReceipt.model_validate(r.structured_content) for r in asyncio.run(scenario()))
    assert not first.duplicate
    assert all(r.duplicate and r.ticket == first.ticket for r in again)
    wait_until(lambda: len(fake.requests) >= 1, what="the one delivery")


def test_notification_sent_right_before_disconnect_is_delivered(mcp_client, ledger_of, fake) -> None:
    fake.delay = 1.0

    async def scenario():
        async with mcp_client() as client:
            result = await client.call_tool("notify_send", {"title": "Bye", "content": "sent as the agent exits"})
        return SendReceipt.model_validate(result.structured_content)

    receipt = asyncio.run(scenario())  # the client closed stdin; the server process is gone
    ledger = ledger_of()
    try:
        wait_until(
            lambda: ledger.get_ticket(receipt.ticket).deliveries[0].status == "delivered",  # type: ignore[union-attr]
            timeout=30,
            what="delivery after the server exited",
        )
    finally:
        ledger.close()
    assert [r.headers["title"] for r in fake.requests] == ["Bye"]


@pytest.mark.parametrize("extra", [{}, {"CONSOLE": "true"}])
def test_channels_tool_masks_secrets(mcp_client, extra) -> None:
    from tests.fakes.ntfy import TOKEN, TOPIC

    async def scenario():
        async with mcp_client(extra) as client:
            return await client.call_tool("notify_channels")

    result = asyncio.run(scenario())
    text = str(result.structured_content) + result.content[0].text
    assert TOPIC not in text and TOKEN not in text
    assert "ntfy" in result.structured_content["enabled"]
    assert ("console" in result.structured_content["enabled"]) == bool(extra)


def test_status_of_a_run_whose_error_was_delivered_names_the_error(mcp_client, fake) -> None:
    async def scenario():
        async with mcp_client() as client:
            await client.call_tool("notify_event", {"run_id": "job-9", "event": "start", "message": "go"})
            await client.call_tool("notify_event", {"run_id": "job-9", "event": "error", "message": "tests failed"})
            doc = await poll_status(client, 20, run_id="job-9")
            text = (await client.call_tool("notify_status", {"run_id": "job-9"})).content[0].text
            return doc, text

    doc, text = asyncio.run(scenario())
    assert doc.status == "success"  # every delivery arrived: true of the deliveries
    assert doc.last_event == "error" and doc.last_event_title == "❌ Failed · job-9"
    assert doc.last_event_at == doc.tickets[-1].created_at
    assert text.splitlines()[0].startswith("Run job-9: success (deliveries); last event: error '❌ Failed · job-9'")
