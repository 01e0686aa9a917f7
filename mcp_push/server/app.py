"""The MCP tools and prompt. Each tool returns a typed model (structured content) plus a
readable text block; bad input is a ToolError that says what to fix.

The Notifier answers with the plain documents of ``mcp_push.views``; here, and only here,
they become the pydantic models whose schemas the tools declare. A notification's source line
is worked out here: the server's working directory (agents start it in their project) and the
client's ``clientInfo.name``; the caller's own ``source`` wins."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import BaseModel, PlainValidator, WithJsonSchema

from mcp_push import __version__
from mcp_push.config import EVENTS
from mcp_push.errors import MCPPushError
from mcp_push.models import AskReceipt, ChannelsDocument, SendReceipt, StatusDocument, WaitDocument, from_view
from mcp_push.notifier import PROGRESS_EVERY, Notifier
from mcp_push.render.links import MAX_URL
from mcp_push.render.priority import LEVELS
from mcp_push.render.source import source_line
from mcp_push.server.prompt import GUIDELINES
from mcp_push.validation import (
    DEFAULT_WAIT,
    FORMATS,
    MAX_ASK_TIMEOUT,
    MAX_CHOICE_LABEL,
    MAX_CHOICES,
    MAX_QUESTION,
    MAX_SOURCE,
    MAX_WAIT,
    RUN_ID,
)
from mcp_push.views import ask_receipt_text, channels_text, receipt_text, status_text, wait_text

INSTRUCTIONS = (
    "mcp-push tells the user, on the channels they read (Telegram, ntfy, e-mail...), that a long task "
    "ended, failed, or needs their decision. Calls return at once with a ticket; delivery happens in the "
    "background. notify_ask puts a question to the user's phone and notify_wait waits for the answer. "
    "Read the mcp-push-guidelines prompt for when to notify and when to ask."
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
Ticket = Text("A ticket from notify_send / notify_event / notify_ask (give run_id or ticket).")
Question = Text(f"The question, one or two sentences, at most {MAX_QUESTION:,} characters.", maxLength=MAX_QUESTION)
Choices = Arg(
    {
        "type": "array",
        "items": {"type": "string", "maxLength": MAX_CHOICE_LABEL},
        "minItems": 1,
        "maxItems": MAX_CHOICES,
    },
    f"1-{MAX_CHOICES} distinct answer labels (buttons), at most {MAX_CHOICE_LABEL} characters each; "
    "['Yes', 'No'] when omitted.",
)
AllowText = Arg({"type": "boolean"}, "True: the user may also answer in their own words. Default false.")
Timeout = Arg(
    {"type": "number", "minimum": 1, "maximum": MAX_ASK_TIMEOUT},
    f"Seconds until the question expires unanswered: default 600, at most {MAX_ASK_TIMEOUT:g}.",
)
WaitTicket = Text("The ticket from notify_ask (or from notify_send / notify_event: waits for its deliveries).")
WaitSeconds = Arg(
    {"type": "number", "minimum": 0, "maximum": MAX_WAIT},
    f"How long to wait at most, 0-{MAX_WAIT:g} seconds (default 60); call again to keep waiting.",
)
CancelTicket = Text("The ticket from notify_ask.")
Format = Text(
    "How the text is written: markdown (default; each channel gets its own dialect, safely escaped) "
    "or text (sent exactly as written).",
    enum=list(FORMATS),
)
Priority = Text(
    "How urgent: low (silent) | normal | high | urgent. Default from the event: error and ask high, "
    "end normal, start and update low.",
    enum=list(LEVELS),
)
Url = Text(
    "A link the channel shows as its own button or tap action (an absolute http(s) address); "
    "default data.artifact_url or data.url.",
    maxLength=MAX_URL,
)
Source = Text(
    "Where the message came from, shown in small print; default 'project · branch · host · client'. '' for none.",
    maxLength=MAX_SOURCE,
)


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


def client_source(ctx: Context | None, env: Any) -> str | None:
    """The source line for a call from this client: the server's directory, this host, the client's name."""
    agent = None
    try:
        params = ctx.session.client_params if ctx is not None else None
    except (AttributeError, LookupError, ValueError):  # no request context (a direct call)
        params = None
    if params is not None and params.client_info is not None:
        agent = params.client_info.name
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the directory was removed under the server
        cwd = None
    return source_line(cwd=cwd, agent=agent, env=env)


def build_server(notifier: Notifier) -> MCPServer:
    """The seven tools and the prompt.

    The tools are ``async`` although their work is synchronous: it is well under a
    millisecond of SQLite (bench/latency.py), less than the SDK's hop to a worker thread
    for a sync tool cost. Profiled over stdio: notify_send p50 3.91 ms -> 2.6 ms.
    Every argument arrives as the client sent it (see ``Arg``); Notifier validates it.
    """

    async def notify_send(
        ctx: Context,
        title: Title = None,
        content: Content = None,
        run_id: RunId = None,
        channels: Channels = None,
        idempotency_key: Key = None,
        format: Format = None,
        priority: Priority = None,
        url: Url = None,
        source: Source = None,
    ) -> Annotated[CallToolResult, SendReceipt]:
        receipt = _call(
            lambda: notifier.send(
                title,
                content,
                run_id=run_id,
                channels=channels,
                idempotency_key=idempotency_key,
                format=format,
                priority=priority,
                url=url,
                source=source,
                origin=client_source(ctx, notifier.settings.env) if source is None else None,
            )
        )
        return _result(SendReceipt, receipt, receipt_text(receipt))

    async def notify_event(
        ctx: Context,
        run_id: EventRunId = None,
        event: Event = None,
        message: Message = None,
        data: Data = None,
        timestamp: Timestamp = None,
        channels: Channels = None,
        idempotency_key: Key = None,
        format: Format = None,
        priority: Priority = None,
        url: Url = None,
        source: Source = None,
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
                format=format,
                priority=priority,
                url=url,
                source=source,
                origin=client_source(ctx, notifier.settings.env) if source is None else None,
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

    async def notify_ask(
        ctx: Context,
        question: Question = None,
        choices: Choices = None,
        allow_text: AllowText = None,
        run_id: RunId = None,
        channels: Channels = None,
        timeout_seconds: Timeout = None,
        idempotency_key: Key = None,
        format: Format = None,
        priority: Priority = None,
        url: Url = None,
        source: Source = None,
    ) -> Annotated[CallToolResult, AskReceipt]:
        receipt = _call(
            lambda: notifier.ask(
                question,
                choices=choices,
                allow_text=allow_text,
                run_id=run_id,
                channels=channels,
                timeout_seconds=timeout_seconds,
                idempotency_key=idempotency_key,
                format=format,
                priority=priority,
                url=url,
                source=source,
                origin=client_source(ctx, notifier.settings.env) if source is None else None,
            )
        )
        return _result(AskReceipt, receipt, ask_receipt_text(receipt))

    async def notify_wait(
        ctx: Context, ticket: WaitTicket = None, seconds: WaitSeconds = None
    ) -> Annotated[CallToolResult, WaitDocument]:
        # The wait's steps, driven here with asyncio.sleep: the server keeps answering meanwhile,
        # and a progress notification every few seconds tells the client the call is alive.
        steps = notifier.waiting(ticket, seconds)
        limit = float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else DEFAULT_WAIT
        started = reported = time.monotonic()
        try:
            pause = _call(lambda: next(steps))
            await ctx.report_progress(0, limit, "waiting")
            while True:
                await asyncio.sleep(pause)
                if time.monotonic() - reported >= PROGRESS_EVERY:
                    reported = time.monotonic()
                    await ctx.report_progress(round(reported - started, 1), limit, "still waiting")
                pause = _call(lambda: next(steps))
        except StopIteration as stop:
            doc = stop.value
        return _result(WaitDocument, doc, wait_text(doc))

    async def notify_cancel(ticket: CancelTicket = None) -> Annotated[CallToolResult, WaitDocument]:
        doc = _call(lambda: notifier.cancel(ticket))
        return _result(WaitDocument, doc, wait_text(doc))

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
        _tool(
            notify_ask,
            "notify_ask",
            "Ask the user a question on their phone (buttons on Telegram and ntfy, an answer link elsewhere). "
            "Returns at once with a ticket; then call notify_wait(ticket) for the answer.",
            required=("question",),
        ),
        _tool(
            notify_wait,
            "notify_wait",
            "Wait up to `seconds` (at most 100) for the answer to a notify_ask ticket; returns the moment it "
            "arrives, or status waiting at the deadline (call again). For a notify_send / notify_event ticket: "
            "waits until every delivery is settled and returns each channel's outcome.",
            required=("ticket",),
        ),
        _tool(
            notify_cancel,
            "notify_cancel",
            "Withdraw a notify_ask question that is no longer needed (it then takes no answer).",
            required=("ticket",),
        ),
    ]
    mcp = PushServer("mcp-push", instructions=INSTRUCTIONS, version=__version__, tools=tools)

    @mcp.prompt(name="mcp-push-guidelines", description="When to notify the user, and when not to.")
    def guidelines() -> str:
        return GUIDELINES

    return mcp
