"""The MCP tools and prompt. Each tool returns a typed model (structured content) plus a
readable text block; bad input is a ToolError that says what to fix.

The Notifier answers with the plain documents of ``mcp_push.views``; here, and only here,
they become the pydantic models whose schemas the tools declare."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import BaseModel, PlainValidator, WithJsonSchema

from mcp_push import __version__
from mcp_push.config import EVENTS
from mcp_push.errors import MCPPushError
from mcp_push.models import ChannelsDocument, SendReceipt, StatusDocument, from_view
from mcp_push.notifier import Notifier
from mcp_push.server.prompt import GUIDELINES
from mcp_push.validation import RUN_ID
from mcp_push.views import channels_text, receipt_text, status_text

INSTRUCTIONS = (
    "mcp-push tells the user, on the channels they read (Telegram, ntfy, e-mail...), that a long task "
    "ended, failed, or needs their decision. Calls return at once with a ticket; delivery happens in the "
    "background. Read the mcp-push-guidelines prompt for when to notify."
)

T = TypeVar("T")


def _as_given(value: Any) -> Any:
    return value


def Arg(schema: dict[str, Any], description: str) -> Any:
    """A tool argument passed through as the client sent it; mcp_push.validation checks it.

    The SDK would validate typed parameters with pydantic and answer with pydantic's text (and
    errors.pydantic.dev links); mcp-push's own checks say what to fix in its words. ``schema``
    is what clients see: every property has a plain ``type`` (no ``anyOf`` with null, which
    makes the MCP Inspector send arrays and objects as strings).
    """
    return Annotated[Any, PlainValidator(_as_given), WithJsonSchema({**schema, "description": description})]


def Text(description: str, **schema: Any) -> Any:
    """A string argument. Typed ``str`` for the SDK, which then never JSON-decodes it: a title
    such as '[WIP] refactor' or '{"a": 1}' stays text."""
    return Annotated[
        str, PlainValidator(_as_given), WithJsonSchema({"type": "string", **schema, "description": description})
    ]


RUN_ID_PATTERN = f"^{RUN_ID.pattern}$"
RunId = Text(
    "Groups notifications of one task, e.g. a session id: 1-128 of A-Z a-z 0-9 . _ : -. Generated when omitted.",
    pattern=RUN_ID_PATTERN,
)
Channels = Arg(
    {"type": "array", "items": {"type": "string"}},
    "Channel ids to use (see notify_channels); all configured channels when omitted.",
)
Key = Text("Repeat-safe key: the same key returns the first ticket and sends nothing new.", maxLength=256)
Title = Text("Short headline, at most 1,000 characters.", maxLength=1000)
Content = Text("The message body, at most 100,000 characters.", maxLength=100_000)
EventRunId = Text("The task's id, e.g. a session id: 1-128 of A-Z a-z 0-9 . _ : -", pattern=RUN_ID_PATTERN)
Event = Text("What happened: start | update | end | error.", enum=list(EVENTS))
Message = Text("One or two sentences a person reads.", maxLength=100_000)
Data = Arg({"type": "object"}, "Optional JSON object of details (at most 64 KiB).")
Timestamp = Text(
    "When it happened: ISO 8601 (2025-05-01T12:30:00Z) or epoch seconds (1746102600); now if omitted.",
    maxLength=64,
)
StatusRunId = Text("A run id (give run_id or ticket).", pattern=RUN_ID_PATTERN)
Ticket = Text("A ticket from notify_send / notify_event (give run_id or ticket).")


def _tool(fn: Callable[..., Any], name: str, description: str, required: tuple[str, ...] = ()) -> Tool:
    """A tool whose input schema lists ``required`` (the parameters all default to None so that a
    missing one reaches mcp-push's own check, which names it) and no null defaults."""
    tool = Tool.from_function(fn, name=name, description=description)
    for prop in tool.parameters.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]
    if required:
        tool.parameters["required"] = list(required)
    return tool


class PushServer(MCPServer):
    """MCPServer, with an unknown prompt answered as invalid params (-32602), not an internal error."""

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        known = [p.name for p in await self.list_prompts()]
        if name not in known:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name[:80]!r}: the prompts are {', '.join(known)}")
        return await super().get_prompt(name, arguments, context)


def _result(model: type[BaseModel], document: Any, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=from_view(model, document).model_dump(mode="json"),
    )


def _call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except MCPPushError as exc:
        raise ToolError(str(exc)) from None


def build_server(notifier: Notifier) -> MCPServer:
    """The four tools and the prompt.

    The tools are ``async`` although their work is synchronous: it is well under a
    millisecond of SQLite (bench/latency.py), less than the SDK's hop to a worker thread
    for a sync tool cost. Profiled over stdio: notify_send p50 3.91 ms -> 2.6 ms.
    Every argument arrives as the client sent it (see ``Arg``); Notifier validates it.
    """

    async def notify_send(
        title: Title = None,
        content: Content = None,
        run_id: RunId = None,
        channels: Channels = None,
        idempotency_key: Key = None,
    ) -> Annotated[CallToolResult, SendReceipt]:
        receipt = _call(
            lambda: notifier.send(title, content, run_id=run_id, channels=channels, idempotency_key=idempotency_key)
        )
        return _result(SendReceipt, receipt, receipt_text(receipt))

    async def notify_event(
        run_id: EventRunId = None,
        event: Event = None,
        message: Message = None,
        data: Data = None,
        timestamp: Timestamp = None,
        channels: Channels = None,
        idempotency_key: Key = None,
    ) -> Annotated[CallToolResult, SendReceipt]:
        receipt = _call(
            lambda: notifier.event(
                run_id,
                event,
                message,
                data=data,
                timestamp=timestamp,
                channels=channels,
                idempotency_key=idempotency_key,
            )
        )
        return _result(SendReceipt, receipt, receipt_text(receipt))

    async def notify_status(
        run_id: StatusRunId = None, ticket: Ticket = None
    ) -> Annotated[CallToolResult, StatusDocument]:
        doc = _call(lambda: notifier.status(run_id=run_id, ticket=ticket))
        return _result(StatusDocument, doc, status_text(doc))

    async def notify_channels() -> Annotated[CallToolResult, ChannelsDocument]:
        doc = _call(notifier.channels)
        return _result(ChannelsDocument, doc, channels_text(doc))

    tools = [
        _tool(
            notify_send,
            "notify_send",
            "Send a notification to the user now. Returns at once with a ticket; delivery is background.",
            required=("title", "content"),
        ),
        _tool(
            notify_event,
            "notify_event",
            "Report a task event: start | update | end | error. end and error are pushed; start and update are "
            "recorded (pushed only when MCP_PUSH_EVENTS says so).",
            required=("run_id", "event", "message"),
        ),
        _tool(
            notify_status,
            "notify_status",
            "What reached whom: the overall and per-channel status of a run (run_id) or a ticket, and the run's "
            "latest event (last_event: did the task end or fail).",
        ),
        _tool(notify_channels, "notify_channels", "The configured channels, their settings masked."),
    ]
    mcp = PushServer("mcp-push", instructions=INSTRUCTIONS, version=__version__, tools=tools)

    @mcp.prompt(name="mcp-push-guidelines", description="When to notify the user, and when not to.")
    def guidelines() -> str:
        return GUIDELINES

    return mcp
