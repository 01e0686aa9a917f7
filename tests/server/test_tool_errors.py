"""Every tool argument, wrong in every way a client gets it wrong, through the official MCP client
over stdio: the answer is mcp-push's own sentence naming the argument and what to send, never
pydantic's text, and nothing is written. Also the input schemas clients build forms from, the
JSON strings the MCP Inspector sends, and prompts/get with an unknown name."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from mcp_push.models import SendReceipt

FOREIGN = ("pydantic", "errors.pydantic.dev", "Input should", "validation error", "Traceback", "Field required")

SEND = {"title": "t", "content": "c"}
EVENT = {"run_id": "r-1", "event": "end", "message": "m"}

# (tool, arguments, words the error must contain)
WRONG: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    # notify_send
    ("notify_send", {"content": "c"}, ("title", "required")),
    ("notify_send", {**SEND, "title": 42}, ("title", "string", "not a number")),
    ("notify_send", {**SEND, "title": ["a"]}, ("title", "not an array")),
    ("notify_send", {**SEND, "title": {"a": 1}}, ("title", "not an object")),
    ("notify_send", {**SEND, "title": True}, ("title", "not a boolean")),
    ("notify_send", {**SEND, "title": None}, ("title", "required")),
    ("notify_send", {**SEND, "title": "t" * 1001}, ("title", "1,000")),
    ("notify_send", {"title": "t"}, ("content", "required")),
    ("notify_send", {**SEND, "content": 3.5}, ("content", "not a number")),
    ("notify_send", {**SEND, "content": ["x"]}, ("content", "not an array")),
    ("notify_send", {**SEND, "content": "c" * 100_001}, ("content", "100,000")),
    ("notify_send", {**SEND, "run_id": 7}, ("run_id", "not a number")),
    ("notify_send", {**SEND, "run_id": "bad id!"}, ("run_id", "A-Z a-z 0-9")),
    ("notify_send", {**SEND, "run_id": ["r"]}, ("run_id", "not an array")),
    ("notify_send", {**SEND, "channels": 5}, ("channels", "list of channel ids", "not a number")),
    ("notify_send", {**SEND, "channels": [1]}, ("channels", "an array holding a number")),
    ("notify_send", {**SEND, "channels": [""]}, ("channels", "empty string")),
    ("notify_send", {**SEND, "channels": []}, ("channels is empty",)),
    ("notify_send", {**SEND, "channels": {"ntfy": True}}, ("channels", "not an object")),
    ("notify_send", {**SEND, "channels": "carrier-pigeon"}, ("unknown channel 'carrier-pigeon'",)),
    ("notify_send", {**SEND, "channels": '["carrier-pigeon"]'}, ("unknown channel 'carrier-pigeon'",)),
    ("notify_send", {**SEND, "idempotency_key": 5}, ("idempotency_key", "not a number")),
    ("notify_send", {**SEND, "idempotency_key": ""}, ("idempotency_key", "empty string")),
    ("notify_send", {**SEND, "idempotency_key": "k" * 257}, ("idempotency_key", "257 characters")),
    # notify_event
    ("notify_event", {"event": "end", "message": "m"}, ("run_id", "not null")),
    ("notify_event", {**EVENT, "run_id": 12}, ("run_id", "not a number")),
    ("notify_event", {**EVENT, "run_id": "has space"}, ("run_id", "A-Z a-z 0-9")),
    ("notify_event", {**EVENT, "event": "bogus"}, ("event 'bogus' is unknown: use start, update, end or error",)),
    ("notify_event", {"run_id": "r-1", "message": "m"}, ("event null is unknown",)),
    ("notify_event", {**EVENT, "event": 3}, ("event a number is unknown", "start, update, end or error")),
    ("notify_event", {**EVENT, "event": ["end"]}, ("event an array is unknown",)),
    ("notify_event", {"run_id": "r-1", "event": "end"}, ("message", "required")),
    ("notify_event", {**EVENT, "message": 1}, ("message", "not a number")),
    ("notify_event", {**EVENT, "message": {"text": "m"}}, ("message", "not an object")),
    ("notify_event", {**EVENT, "data": [1, 2]}, ("data", "JSON object", "not an array")),
    ("notify_event", {**EVENT, "data": 5}, ("data", "JSON object", "not a number")),
    ("notify_event", {**EVENT, "data": True}, ("data", "not a boolean")),
    ("notify_event", {**EVENT, "data": "not json"}, ("data is not valid JSON",)),
    ("notify_event", {**EVENT, "data": "[1]"}, ("data", "not an array")),
    ("notify_event", {**EVENT, "data": {"x": "y" * 70_000}}, ("data", "64 KiB")),
    ("notify_event", {**EVENT, "timestamp": "yesterday"}, ("timestamp 'yesterday'", "ISO 8601", "epoch seconds")),
    ("notify_event", {**EVENT, "timestamp": "2" * 65}, ("timestamp", "65 characters", "limit is 64")),
    ("notify_event", {**EVENT, "timestamp": "x" * 3_000_000}, ("timestamp", "3,000,000 characters")),
    ("notify_event", {**EVENT, "timestamp": ["2025-05-01"]}, ("timestamp", "not an array")),
    ("notify_event", {**EVENT, "timestamp": {"at": 1}}, ("timestamp", "not an object")),
    ("notify_event", {**EVENT, "timestamp": True}, ("timestamp", "not a boolean")),
    ("notify_event", {**EVENT, "timestamp": 1e300}, ("timestamp", "out of range")),
    ("notify_event", {**EVENT, "timestamp": "2025-13-45T99:00:00Z"}, ("timestamp", "ISO 8601")),
    ("notify_event", {**EVENT, "channels": 5}, ("channels", "not a number")),
    ("notify_event", {**EVENT, "channels": ["telegram"]}, ("channel 'telegram' is not configured", "TG_BOT_TOKEN")),
    ("notify_event", {**EVENT, "idempotency_key": ["k"]}, ("idempotency_key", "not an array")),
    # notify_status
    ("notify_status", {}, ("exactly one of run_id or ticket",)),
    ("notify_status", {"run_id": "r", "ticket": "tk-1"}, ("exactly one of run_id or ticket",)),
    ("notify_status", {"run_id": 5}, ("run_id", "not a number")),
    ("notify_status", {"run_id": "bad id!"}, ("run_id", "A-Z a-z 0-9")),
    ("notify_status", {"run_id": "never-used"}, ("no notification has run_id 'never-used'",)),
    ("notify_status", {"ticket": 5}, ("ticket", "not a number")),
    ("notify_status", {"ticket": ["tk-1"]}, ("ticket", "not an array")),
    ("notify_status", {"ticket": ""}, ("ticket is empty",)),
    ("notify_status", {"ticket": "tk-nope"}, ("no ticket 'tk-nope'",)),
]


def test_every_wrong_argument_is_answered_in_mcp_push_words(mcp_client, ledger_of) -> None:
    async def scenario():
        async with mcp_client() as client:
            return [await client.call_tool(tool, args) for tool, args, _ in WRONG]

    results = asyncio.run(scenario())
    for (tool, args, words), result in zip(WRONG, results, strict=True):
        text = result.content[0].text
        shown = {k: (v if len(str(v)) < 60 else f"{str(v)[:20]}…") for k, v in args.items()}
        assert result.is_error, (tool, shown, text[:200])
        assert not any(w in text for w in FOREIGN), (tool, shown, text[:300])
        assert all(w in text for w in words), (tool, shown, words, text[:300])
        assert result.structured_content is None
    ledger = ledger_of()
    try:
        assert ledger.dump_table("tickets") == []  # nothing written for any of them
    finally:
        ledger.close()


def test_json_strings_for_arrays_and_objects_are_accepted(mcp_client, ledger_of, fake) -> None:
    """What the MCP Inspector sends for an array or object field: its JSON as a string."""

    async def scenario():
        async with mcp_client() as client:
            send = await client.call_tool("notify_send", {**SEND, "title": '["WIP"] {x}', "channels": '["ntfy"]'})
            plain = await client.call_tool("notify_send", {**SEND, "content": "c2", "channels": "ntfy"})
            event = await client.call_tool(
                "notify_event",
                {**EVENT, "data": '{"tests": 42}', "channels": '["ntfy"]', "timestamp": 1746102600},
            )
            iso = await client.call_tool(
                "notify_event", {**EVENT, "message": "m2", "timestamp": "2025-05-01T20:30:00+08:00"}
            )
            epoch_text = await client.call_tool("notify_event", {**EVENT, "message": "m3", "timestamp": "1746102600"})
            return send, plain, event, iso, epoch_text

    results = asyncio.run(scenario())
    for result in results:
        assert not result.is_error, result.content[0].text
        assert SendReceipt.model_validate(result.structured_content).channels == ["ntfy"]
    ledger = ledger_of()
    try:
        rows = {t["content"].split("\n")[0]: t for t in ledger.dump_table("tickets")}
    finally:
        ledger.close()
    assert rows["c"]["title"] == '["WIP"] {x}'  # a title that looks like JSON stays text
    assert "tests: 42" in rows["m"]["content"] and "at 2025-05-01T12:30:00Z" in rows["m"]["content"]
    assert "at 2025-05-01T20:30:00+08:00" in rows["m2"]["content"]  # ISO 8601 kept as given
    assert "at 2025-05-01T12:30:00Z" in rows["m3"]["content"]


def test_input_schemas_give_every_property_a_type(mcp_client) -> None:
    async def scenario():
        async with mcp_client() as client:
            return {t.name: t.input_schema for t in (await client.list_tools()).tools}

    schemas = asyncio.run(scenario())
    for name, schema in schemas.items():
        assert schema["type"] == "object", name
        for prop, spec in schema.get("properties", {}).items():
            assert isinstance(spec.get("type"), str), (name, prop, spec)
            assert "anyOf" not in spec and spec.get("default", "absent") is not None, (name, prop, spec)
            assert spec.get("description"), (name, prop)
    assert schemas["notify_send"]["properties"]["channels"] == {
        **schemas["notify_send"]["properties"]["channels"],
        "type": "array",
        "items": {"type": "string"},
    }
    assert schemas["notify_event"]["properties"]["data"]["type"] == "object"
    assert schemas["notify_event"]["properties"]["event"]["enum"] == ["start", "update", "end", "error"]
    assert set(schemas["notify_send"]["required"]) == {"title", "content"}
    assert set(schemas["notify_event"]["required"]) == {"run_id", "event", "message"}
    assert "required" not in schemas["notify_status"]


@pytest.mark.parametrize("name", ["nope", "mcp-push-guideline", ""])
def test_unknown_prompt_is_invalid_params(mcp_client, name) -> None:
    async def scenario():
        async with mcp_client() as client:
            with pytest.raises(MCPError) as caught:
                await client.get_prompt(name)
            still = await client.get_prompt("mcp-push-guidelines")  # the server kept serving
            return caught.value, still

    error, still = asyncio.run(scenario())
    assert error.code == -32602, (error.code, error.message)
    assert "unknown prompt" in error.message and "mcp-push-guidelines" in error.message
    assert "Traceback" not in error.message
    assert "Do not notify" in still.messages[0].content.text
