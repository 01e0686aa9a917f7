"""The MCP tools and prompt. Each tool returns a typed model (structured content) plus a
readable text block; bad input is a ToolError that says what to fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from mcp_push import __version__
from mcp_push.errors import MCPPushError
from mcp_push.models import ChannelsDocument, SendReceipt, StatusDocument
from mcp_push.notifier import Notifier
from mcp_push.server.prompt import GUIDELINES

INSTRUCTIONS = (
    "mcp-push tells the user, on the channels they read (Telegram, ntfy, e-mail...), that a long task "
    "ended, failed, or needs their decision. Calls return at once with a ticket; delivery happens in the "
    "background. Read the mcp-push-guidelines prompt for when to notify."
)

M = TypeVar("M", bound=BaseModel)

RunId = Annotated[
    str | None,
    Field(description="Groups notifications of one task, e.g. a session id. Generated when omitted."),
]
Channels = Annotated[
    list[str] | None,
    Field(description="Channel ids to use (see notify_channels); all configured channels when omitted."),
]
Key = Annotated[
    str | None,
    Field(description="Repeat-safe key: the same key returns the first ticket and sends nothing new."),
]


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )


def _call(fn: Callable[[], M]) -> M:
    try:
        return fn()
    except MCPPushError as exc:
        raise ToolError(str(exc)) from None


def receipt_text(r: SendReceipt) -> str:
    if r.duplicate:
        head = f"Already sent with this idempotency key: ticket {r.ticket} (run {r.run_id}) is {r.status}."
    elif r.channels:
        head = f"Queued ticket {r.ticket} for run {r.run_id} to {', '.join(r.channels)}."
    else:
        head = f"Recorded ticket {r.ticket} for run {r.run_id} (not pushed: {r.reason})."
    return f"{head} Delivery runs in the background; notify_status(ticket='{r.ticket}') shows the outcome."


def status_text(doc: StatusDocument) -> str:
    lines = [f"Run {doc.run_id}: {doc.status}"]
    for t in doc.tickets:
        lines.append(
            f"- {t.ticket} [{t.event or 'send'}] {t.title!r}: {t.status}" + (f" ({t.reason})" if t.reason else "")
        )
        for d in t.deliveries:
            tail = f" - {d.last_error}" if d.last_error and d.status != "delivered" else ""
            lines.append(f"    {d.channel}: {d.status}, {d.attempts} attempt(s){tail}")
    if doc.workers_alive == 0 and not doc.final:
        lines.append("No worker is running: deliveries wait until `mcp-push worker` (or serve/send) starts one.")
    return "\n".join(lines)


def channels_text(doc: ChannelsDocument) -> str:
    if not doc.channels:
        return doc.hint or "No channel is configured."
    lines = []
    for c in doc.channels:
        state = "enabled" if c.enabled else f"incomplete (missing {', '.join(c.missing)})"
        lines.append(f"- {c.id}: {state}")
    lines.append(f"Workers alive: {doc.workers_alive}")
    return "\n".join(lines)


def build_server(notifier: Notifier) -> MCPServer:
    """The four tools and the prompt.

    The tools are ``async`` although their work is synchronous: it is well under a
    millisecond of SQLite (bench/latency.py), less than the SDK's hop to a worker thread
    for a sync tool cost. Profiled over stdio: notify_send p50 3.91 ms -> 2.6 ms.
    """
    mcp = MCPServer("mcp-push", instructions=INSTRUCTIONS, version=__version__)

    @mcp.tool(
        name="notify_send",
        description="Send a notification to the user now. Returns at once with a ticket; delivery is background.",
    )
    async def notify_send(
        title: Annotated[str, Field(description="Short headline, at most 1,000 characters.")],
        content: Annotated[str, Field(description="The message body, at most 100,000 characters.")],
        run_id: RunId = None,
        channels: Channels = None,
        idempotency_key: Key = None,
    ) -> Annotated[CallToolResult, SendReceipt]:
        receipt = _call(
            lambda: notifier.send(title, content, run_id=run_id, channels=channels, idempotency_key=idempotency_key)
        )
        return _result(receipt, receipt_text(receipt))

    @mcp.tool(
        name="notify_event",
        description=(
            "Report a task event: start | update | end | error. end and error are pushed; start and update are "
            "recorded (pushed only when MCP_PUSH_EVENTS says so)."
        ),
    )
    async def notify_event(
        run_id: Annotated[str, Field(description="The task's id, e.g. a session id ([A-Za-z0-9._:-], ≤128).")],
        event: Annotated[Literal["start", "update", "end", "error"], Field(description="What happened.")],
        message: Annotated[str, Field(description="One or two sentences a person reads.")],
        data: Annotated[dict[str, Any] | None, Field(description="Optional JSON object of details (≤ 64 KiB).")] = None,
        timestamp: Annotated[str | None, Field(description="When it happened (ISO 8601); now if omitted.")] = None,
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
        return _result(receipt, receipt_text(receipt))

    @mcp.tool(
        name="notify_status",
        description="What reached whom: the overall and per-channel status of a run (run_id) or a ticket.",
    )
    async def notify_status(
        run_id: Annotated[str | None, Field(description="A run id.")] = None,
        ticket: Annotated[str | None, Field(description="A ticket from notify_send / notify_event.")] = None,
    ) -> Annotated[CallToolResult, StatusDocument]:
        doc = _call(lambda: notifier.status(run_id=run_id, ticket=ticket))
        return _result(doc, status_text(doc))

    @mcp.tool(name="notify_channels", description="The configured channels, their settings masked.")
    async def notify_channels() -> Annotated[CallToolResult, ChannelsDocument]:
        doc = _call(notifier.channels)
        return _result(doc, channels_text(doc))

    @mcp.prompt(name="mcp-push-guidelines", description="When to notify the user, and when not to.")
    def guidelines() -> str:
        return GUIDELINES

    return mcp
