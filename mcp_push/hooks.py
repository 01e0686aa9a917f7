"""``mcp-push hook``: turn an agent's own hook event into a notification, in well under a second.

Claude Code runs ``mcp-push hook`` with the event as JSON on stdin (Stop, SubagentStop,
Notification, PermissionRequest, SessionEnd). Codex runs its ``notify`` program with the
JSON as the last argument (``agent-turn-complete``). Either way the notification is
queued in the ledger (run id ``claude:<session_id>`` or ``codex:<thread-id>``, so
``notify_status`` and ``mcp-push status`` find it), a drain worker is started if no worker
is alive, and the hook returns at once.

What is pushed:

- Stop, SessionEnd, Codex agent-turn-complete: an ``end`` event (pushed unless
  MCP_PUSH_EVENTS leaves ``end`` out).
- SubagentStop, Codex agent-turn-start: ``update`` / ``start`` events, recorded and
  pushed only when MCP_PUSH_EVENTS asks for them (the main agent is still working).
- A permission prompt (Notification ``permission_prompt``, PermissionRequest) or an MCP
  server asking for input (``elicitation_dialog``): always pushed, whatever
  MCP_PUSH_EVENTS says: the agent is blocked until the person answers.
- An idle prompt (``idle_prompt``, Claude waited 60 s for input): pushed, unless this
  session already pushed something in the last ten minutes (usually the Stop that
  preceded it).

The same session and kind of event firing again within MCP_PUSH_DEDUPE_SECONDS (60 s)
sends nothing new. Exit codes: 0 queued (or deliberately nothing); 1 a valid event that
could not be turned into a notification (an unsupported event, no channel configured),
so Claude Code reports it without blocking anything; 2 the payload is not a hook event.
Nothing is ever written to stdout: Claude Code reads a hook's stdout.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from mcp_push.config import Settings
from mcp_push.errors import MCPPushError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_PAYLOAD = 1024 * 1024  # a hook event is a few KB; refuse to slurp anything huge
EXCERPT = 500
IDLE_QUIET_SECONDS = 600.0
_RUN_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]+")
_MAX_RUN_ID = 128

SESSION_END_REASONS = {
    "clear": "cleared with /clear",
    "resume": "switched to another session",
    "logout": "logged out",
    "prompt_input_exit": "exited at the prompt",
    "bypass_permissions_disabled": "bypass-permissions mode was disabled",
    "other": "closed",
}
CLAUDE_EVENTS = ("Stop", "SubagentStop", "Notification", "PermissionRequest", "SessionEnd")


class HookPayloadError(Exception):
    """The input is not a hook event we can read (exit 2)."""


class HookUnsupported(Exception):
    """A readable hook event we do not turn into notifications (exit 1)."""


@dataclass(frozen=True)
class HookNotice:
    """What one hook firing should become.

    ``event`` set: sent as that agent event (``notify_event`` semantics, MCP_PUSH_EVENTS
    applies). ``event`` None: a plain notification with ``title``, always pushed.
    """

    kind: str
    run_id: str
    message: str
    details: dict[str, str] = field(default_factory=dict)
    event: str | None = None
    title: str | None = None

    def content(self) -> str:
        lines = [self.message]
        if self.details:
            lines.append("")
            lines.extend(f"{key}: {value}" for key, value in self.details.items())
        return "\n".join(lines)


# --- reading the payload -----------------------------------------------------------


def read_payload(payload_arg: str | None, stdin: IO[str] | None) -> dict[str, Any]:
    """The hook event as a JSON object: the argument when given (Codex), else stdin (Claude Code)."""
    if payload_arg is not None:
        raw, where = payload_arg, "the argument"
    else:
        if stdin is None or stdin.closed or _is_tty(stdin):
            raise HookPayloadError(
                "no hook event given: Claude Code pipes its event as JSON on stdin; "
                "Codex passes its notify JSON as the argument (mcp-push hook '<json>')"
            )
        raw, where = stdin.read(MAX_PAYLOAD + 1), "stdin"
    if len(raw) > MAX_PAYLOAD:
        raise HookPayloadError(f"the hook event on {where} is larger than {MAX_PAYLOAD // 1024} KiB")
    if not raw.strip():
        raise HookPayloadError(f"{where} is empty: expected a hook event as JSON")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HookPayloadError(
            f"{where} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): expected a Claude Code "
            "hook event or a Codex notify payload"
        ) from None
    if not isinstance(value, dict):
        raise HookPayloadError(f"{where} holds a JSON {type(value).__name__}, not the object a hook event is")
    return value


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --- shaping the notification --------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def make_run_id(agent: str, ident: str) -> str:
    """``<agent>:<ident>`` within the run-id alphabet ([A-Za-z0-9._:-], at most 128)."""
    clean = _RUN_ID_BAD.sub("-", ident).strip("-") or "session"
    return f"{agent}:{clean}"[:_MAX_RUN_ID]


def project_of(cwd: str) -> str:
    name = os.path.basename(cwd.rstrip("/\\"))
    return name or cwd or "unknown project"


def notice_for(payload: dict[str, Any]) -> HookNotice | None:
    """The notification for a hook event; None when the event deliberately sends nothing."""
    if "hook_event_name" in payload:
        return _claude(payload)
    if "type" in payload:
        return _codex(payload)
    raise HookPayloadError(
        "this JSON is not a hook event: expected a Claude Code event (with hook_event_name) on stdin "
        "or a Codex notify payload (with type) as the argument"
    )


def _claude(p: dict[str, Any]) -> HookNotice | None:
    event = _text(p.get("hook_event_name"))
    if not event:
        raise HookPayloadError("hook_event_name is empty or not a string")
    session = _text(p.get("session_id"))
    cwd = _text(p.get("cwd")) or os.environ.get("CLAUDE_PROJECT_DIR", "") or os.getcwd()
    project = project_of(cwd)
    rid = make_run_id("claude", session or project)
    details = {"project": project, "session": session or "(none)", "cwd": cwd}
    last = excerpt(_text(p.get("last_assistant_message")))

    def with_last(head: str) -> str:
        return f"{head}\n\n{last}" if last else head

    if event == "Stop":
        return HookNotice("finished", rid, with_last(f"Claude Code finished its turn in {project}."), details, "end")
    if event == "SubagentStop":
        agent = _text(p.get("agent_type"))
        who = f"A Claude Code subagent ({agent})" if agent else "A Claude Code subagent"
        return HookNotice("subagent", rid, with_last(f"{who} finished in {project}."), details, "update")
    if event == "SessionEnd":
        reason = _text(p.get("reason")) or "other"
        said = SESSION_END_REASONS.get(reason, reason)
        return HookNotice("session-end", rid, f"Claude Code session ended in {project} ({said}).", details, "end")
    if event == "PermissionRequest":
        tool = _text(p.get("tool_name")) or "a tool"
        message = f"Claude Code needs your permission to use {tool} in {project}."
        return HookNotice("approval", rid, message, details, title=f"🔐 Needs approval · {project}")
    if event == "Notification":
        return _claude_notification(p, rid, project, details)
    raise HookUnsupported(
        f"Claude Code event {event!r} is not one mcp-push notifies about; register `mcp-push hook` for "
        f"{', '.join(CLAUDE_EVENTS)} only"
    )


def _claude_notification(p: dict[str, Any], rid: str, project: str, details: dict[str, str]) -> HookNotice | None:
    kind_name = _text(p.get("notification_type"))
    message = _text(p.get("message"))
    lowered = message.lower()
    if not kind_name:  # older Claude Code versions send only the message
        if "permission" in lowered:
            kind_name = "permission_prompt"
        elif "waiting for your input" in lowered:
            kind_name = "idle_prompt"
    if kind_name == "auth_success":
        return None  # the person just logged in; they are at the keyboard
    if kind_name == "permission_prompt":
        text = message or "Claude Code needs your permission to continue."
        return HookNotice("approval", rid, f"{text} ({project})", details, title=f"🔐 Needs approval · {project}")
    if kind_name == "idle_prompt":
        text = message or "Claude is waiting for your input."
        return HookNotice("idle", rid, f"{text} ({project})", details, title=f"💤 Waiting for you · {project}")
    if kind_name == "elicitation_dialog":
        text = message or "An MCP server is asking for your input."
        return HookNotice("input", rid, f"{text} ({project})", details, title=f"❓ Needs your input · {project}")
    text = message or _text(p.get("title")) or "Claude Code wants your attention."
    return HookNotice("notice", rid, f"{text} ({project})", details, title=f"🔔 Claude Code · {project}")


def _codex(p: dict[str, Any]) -> HookNotice | None:
    kind_name = _text(p.get("type"))
    if not kind_name:
        raise HookPayloadError("the Codex payload's type is empty or not a string")
    thread = _text(p.get("thread-id"))
    raw_turn = p.get("turn-id")
    turn = str(raw_turn).strip() if isinstance(raw_turn, str | int) and not isinstance(raw_turn, bool) else ""
    cwd = _text(p.get("cwd")) or os.getcwd()
    project = project_of(cwd)
    rid = make_run_id("codex", thread or project)
    details = {"project": project, "thread": thread or "(none)", "cwd": cwd}
    if turn:
        details["turn"] = turn
    inputs = p.get("input-messages")
    if isinstance(inputs, list) and inputs and isinstance(inputs[-1], str) and inputs[-1].strip():
        details["asked"] = excerpt(" ".join(inputs[-1].split()), 200)
    if kind_name == "agent-turn-complete":
        last = excerpt(_text(p.get("last-assistant-message")))
        head = f"Codex finished a turn in {project}."
        return HookNotice("finished", rid, f"{head}\n\n{last}" if last else head, details, "end")
    if kind_name == "agent-turn-start":
        return HookNotice("turn-start", rid, f"Codex started a turn in {project}.", details, "start")
    if "approval" in kind_name:
        text = _text(p.get("message")) or "Codex needs your approval to continue."
        return HookNotice("approval", rid, f"{text} ({project})", details, title=f"🔐 Needs approval · {project}")
    raise HookUnsupported(f"Codex notification type {kind_name!r} is not one mcp-push notifies about")


# --- sending ---------------------------------------------------------------------------


def _recent(records: list[Any], since: float, *, prefix: str | None = None, pushed: bool = False) -> bool:
    for record in records:
        if record.created_at < since:
            continue
        if prefix is not None and not (record.idempotency_key or "").startswith(prefix):
            continue
        if pushed and not record.deliveries:
            continue
        return True
    return False


def enqueue(settings: Settings, notice: HookNotice, now: float | None = None) -> str:
    """Queue ``notice`` and make sure a worker delivers it; return what happened (for logs/tests).

    'queued', 'recorded' (not pushed by policy), 'duplicate' or 'quiet'.
    """
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.drain import ensure_delivery
    from mcp_push.tasks.runtime import Runtime

    now = time.time() if now is None else now
    window = settings.dedupe_seconds
    prefix = f"hook:{notice.run_id}:{notice.kind}:"
    runtime = Runtime.open(settings)
    try:
        records = runtime.ledger.run_tickets(notice.run_id)
        if window > 0 and _recent(records, now - window, prefix=prefix):
            return "duplicate"
        if notice.kind == "idle" and _recent(records, now - IDLE_QUIET_SECONDS, pushed=True):
            return "quiet"
        # The key makes concurrent firings in the same window collapse atomically in the ledger.
        key = f"{prefix}{int(now // window)}" if window > 0 else None
        notifier = Notifier(runtime)
        if notice.event is not None:
            receipt = notifier.event(
                notice.run_id, notice.event, notice.message, data=notice.details or None, idempotency_key=key
            )
        else:
            receipt = notifier.send(notice.title, notice.content(), run_id=notice.run_id, idempotency_key=key)
        if receipt.duplicate:
            return "duplicate"
        if not receipt.channels:
            return "recorded"
        ensure_delivery(runtime)
        return "queued"
    finally:
        runtime.close()


def run_hook(settings: Settings, payload_arg: str | None, stdin: IO[str] | None) -> int:
    """``mcp-push hook [PAYLOAD]``. Prints nothing on stdout; explains any problem on stderr."""
    try:
        notice = notice_for(read_payload(payload_arg, stdin))
    except HookPayloadError as exc:
        print(f"mcp-push hook: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HookUnsupported as exc:
        print(f"mcp-push hook: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if notice is None:
        return EXIT_OK
    try:
        enqueue(settings, notice)
    except MCPPushError as exc:  # e.g. no channel configured: say so without blocking the agent
        print(f"mcp-push hook: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a hook must never dump a traceback into the agent's session
        print(f"mcp-push hook: could not queue the notification: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
