"""notify_ask / notify_wait / notify_cancel over real stdio with the official MCP client.

The person's answer is applied from the test through ``apply_answer`` (what a listener or the
answer page does), into the same ledger the server reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_push.asking.answers import ACCEPTED, apply_answer
from mcp_push.models import AskReceipt, StatusDocument, WaitDocument
from tests.helpers import end_processes_under
from tests.server.test_tool_errors import FOREIGN


@pytest.fixture(autouse=True)
def _no_drainer_left(tmp_path: Path) -> Iterator[None]:
    """This test's drain workers end with it (``end_processes_under`` says why)."""
    yield
    end_processes_under(tmp_path)


def _answer(ledger_of, ticket: str, choice: int | None = None, text: str | None = None) -> str:
    ledger = ledger_of()
    try:
        return apply_answer(ledger, ticket, via="telegram", by="42", now=time.time(), choice=choice, text=text).outcome
    finally:
        ledger.close()


def test_ask_then_wait_returns_the_answer_as_it_lands(mcp_client, ledger_of, fake) -> None:
    outcomes: list[str] = []

    async def scenario():
        async with mcp_client() as client:
            asked = await client.call_tool(
                "notify_ask",
                {"question": "Deploy build 42 to prod?", "choices": ["Deploy", "Hold"], "run_id": "ci-42"},
            )
            receipt = AskReceipt.model_validate(asked.structured_content)

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                if not outcomes:  # the wait is running: now the person presses a button
                    outcomes.append(await asyncio.to_thread(_answer, ledger_of, receipt.ticket, 1))

            waited = await client.call_tool(
                "notify_wait", {"ticket": receipt.ticket, "seconds": 60}, progress_callback=on_progress
            )
            status = await client.call_tool("notify_status", {"ticket": receipt.ticket})
            return asked, receipt, waited, status

    asked, receipt, waited, status = asyncio.run(scenario())
    assert not asked.is_error, asked.content[0].text
    assert (receipt.status, receipt.run_id, receipt.channels, receipt.choices) == (
        "waiting",
        "ci-42",
        ["ntfy"],
        ["Deploy", "Hold"],
    )
    assert receipt.ticket in asked.content[0].text and "notify_wait" in asked.content[0].text
    assert outcomes == [ACCEPTED]
    assert not waited.is_error, waited.content[0].text
    doc = WaitDocument.model_validate(waited.structured_content)
    assert (doc.kind, doc.status, doc.done, doc.answer) == ("ask", "answered", True, "Hold")
    assert doc.ask and (doc.ask.via, doc.ask.by) == ("telegram", "42")
    assert doc.waited_seconds < 60
    assert "Answered: 'Hold'" in waited.content[0].text
    shown = StatusDocument.model_validate(status.structured_content)
    ask = shown.tickets[0].ask
    assert ask and (ask.question, ask.status, ask.answer, ask.via) == (
        "Deploy build 42 to prod?",
        "answered",
        "Hold",
        "telegram",
    )
    assert "ask: answered 'Hold' via telegram" in status.content[0].text
    assert fake.problems == []


def test_wait_sends_progress_and_returns_waiting_at_its_deadline(mcp_client) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def scenario():
        async with mcp_client() as client:
            asked = await client.call_tool("notify_ask", {"question": "Rename the branch?", "allow_text": True})
            ticket = asked.structured_content["ticket"]

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                seen.append((progress, total, message))

            waited = await client.call_tool(
                "notify_wait", {"ticket": ticket, "seconds": 2.5}, progress_callback=on_progress
            )
            pong = await client.call_tool("notify_status", {"ticket": ticket})  # the server kept serving
            return waited, pong

    waited, pong = asyncio.run(scenario())
    doc = WaitDocument.model_validate(waited.structured_content)
    assert (doc.status, doc.done, doc.answer) == ("waiting", False, None)
    assert doc.waited_seconds >= 2.5
    assert doc.hint and "call notify_wait" in doc.hint
    assert len(seen) >= 2 and seen[0] == (0, 2.5, "waiting")  # one at once, then every 2 s
    assert all(total == 2.5 for _, total, _ in seen) and seen[-1][0] >= 2
    assert not pong.is_error


def test_wait_on_a_plain_notification_returns_the_outcome_per_channel(mcp_client, fake) -> None:
    async def scenario():
        async with mcp_client() as client:
            sent = await client.call_tool("notify_send", {"title": "Tests passed", "content": "412 passed"})
            return await client.call_tool("notify_wait", {"ticket": sent.structured_content["ticket"], "seconds": 30})

    waited = asyncio.run(scenario())
    assert not waited.is_error, waited.content[0].text
    doc = WaitDocument.model_validate(waited.structured_content)
    assert (doc.kind, doc.status, doc.done, doc.answer, doc.ask) == ("notification", "success", True, None, None)
    assert [(d.channel, d.status) for d in doc.deliveries] == [("ntfy", "delivered")]
    assert "ntfy: delivered" in waited.content[0].text
    assert fake.requests[0].headers["title"] == "Tests passed"
    assert fake.problems == []


def test_cancel_withdraws_the_question(mcp_client, ledger_of) -> None:
    async def scenario():
        async with mcp_client() as client:
            asked = await client.call_tool("notify_ask", {"question": "Keep the old logs?"})
            ticket = asked.structured_content["ticket"]
            cancelled = await client.call_tool("notify_cancel", {"ticket": ticket})
            waited = await client.call_tool("notify_wait", {"ticket": ticket, "seconds": 30})
            return ticket, cancelled, waited

    ticket, cancelled, waited = asyncio.run(scenario())
    assert not cancelled.is_error, cancelled.content[0].text
    for result in (cancelled, waited):
        doc = WaitDocument.model_validate(result.structured_content)
        assert (doc.status, doc.done, doc.answer) == ("cancelled", True, None)
    assert "cancelled without an answer" in waited.content[0].text
    assert _answer(ledger_of, ticket, 0) == "ended"  # a late press changes nothing


WRONG: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("notify_ask", {}, ("question", "required")),
    ("notify_ask", {"question": 7}, ("question", "not a number")),
    ("notify_ask", {"question": "q" * 1001}, ("question", "1,000")),
    ("notify_ask", {"question": "Go?", "choices": []}, ("choices", "1 to 5")),
    ("notify_ask", {"question": "Go?", "choices": ["a", "b", "c", "d", "e", "f"]}, ("choices", "6 labels")),
    ("notify_ask", {"question": "Go?", "choices": ["Yes", "YES"]}, ("given twice",)),
    ("notify_ask", {"question": "Go?", "choices": ["x" * 65]}, ("limit is 64",)),
    ("notify_ask", {"question": "Go?", "choices": [3]}, ("choices must hold strings", "not a number")),
    ("notify_ask", {"question": "Go?", "choices": {"a": 1}}, ("choices", "not an object")),
    ("notify_ask", {"question": "Go?", "allow_text": "maybe"}, ("allow_text", "true or false")),
    ("notify_ask", {"question": "Go?", "timeout_seconds": 0}, ("timeout_seconds", "1 to 86400")),
    ("notify_ask", {"question": "Go?", "timeout_seconds": 90000}, ("timeout_seconds", "1 to 86400")),
    ("notify_ask", {"question": "Go?", "timeout_seconds": [1]}, ("timeout_seconds", "not an array")),
    ("notify_ask", {"question": "Go?", "run_id": "bad id!"}, ("run_id", "A-Z a-z 0-9")),
    ("notify_ask", {"question": "Go?", "channels": ["telegram"]}, ("channel 'telegram' is not configured",)),
    ("notify_ask", {"question": "Go?", "idempotency_key": ""}, ("idempotency_key", "empty string")),
    ("notify_wait", {}, ("ticket", "not null")),
    ("notify_wait", {"ticket": "tk-nope"}, ("no ticket 'tk-nope'",)),
    ("notify_wait", {"ticket": "tk-nope", "seconds": 101}, ("seconds", "0 to 100")),
    ("notify_wait", {"ticket": "tk-nope", "seconds": -1}, ("seconds", "0 to 100")),
    ("notify_wait", {"ticket": "tk-nope", "seconds": [5]}, ("seconds", "not an array")),
    ("notify_cancel", {}, ("ticket", "not null")),
    ("notify_cancel", {"ticket": "tk-nope"}, ("no ticket 'tk-nope'",)),
]


def test_wrong_arguments_are_answered_in_mcp_push_words(mcp_client, ledger_of) -> None:
    async def scenario():
        async with mcp_client() as client:
            results = [await client.call_tool(tool, args) for tool, args, _ in WRONG]
            sent = await client.call_tool("notify_send", {"title": "t", "content": "c"})
            plain = await client.call_tool("notify_cancel", {"ticket": sent.structured_content["ticket"]})
            tools = {t.name: t for t in (await client.list_tools()).tools}
            return results, plain, tools

    results, plain, tools = asyncio.run(scenario())
    for (tool, args, words), result in zip(WRONG, results, strict=True):
        text = result.content[0].text
        assert result.is_error, (tool, args, text[:200])
        assert not any(w in text for w in FOREIGN), (tool, args, text[:300])
        assert all(w in text for w in words), (tool, args, words, text[:300])
    assert plain.is_error and "is not an ask" in plain.content[0].text
    ledger = ledger_of()
    try:
        assert ledger.waiting_asks(time.time()) == []  # no wrong call wrote an ask
    finally:
        ledger.close()
    assert tools["notify_ask"].input_schema["required"] == ["question"]
    assert tools["notify_ask"].input_schema["properties"]["choices"]["maxItems"] == 5
    assert tools["notify_wait"].input_schema["properties"]["seconds"]["maximum"] == 100
    assert "ctx" not in tools["notify_wait"].input_schema["properties"]
    assert all(tools[n].output_schema for n in ("notify_ask", "notify_wait", "notify_cancel"))
