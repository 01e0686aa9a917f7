"""``mcp-push hook``: turn an agent's own hook event into a notification, or wait for the person's answer.

Claude Code runs ``mcp-push hook`` with the event as JSON on stdin (Stop, SubagentStop,
Notification, PermissionRequest, SessionEnd, PreToolUse for AskUserQuestion). Codex runs its
``notify`` program with the JSON as the last argument (``agent-turn-complete``) and its
``PermissionRequest`` and ``Stop`` hooks with the JSON on stdin; Gemini CLI runs its
``AfterAgent``, ``Notification`` and ``BeforeTool`` hooks the same way. Notifications are
queued in the ledger (run id ``claude:<session_id>``, ``codex:<thread-id>`` or
``gemini:<session_id>``, so ``notify_status`` and ``mcp-push status`` find it), a drain worker
is started if no worker is alive, and the hook returns at once.

What is pushed without waiting:

- Stop, SessionEnd, Codex agent-turn-complete and Stop, Gemini AfterAgent: an ``end`` event
  (pushed unless MCP_PUSH_EVENTS leaves ``end`` out). Codex's ``notify`` and its Stop hook report
  the same turn under the same run id: with both registered, the dedupe window keeps it to one.
- SubagentStop, Codex agent-turn-start: ``update`` / ``start`` events, recorded and
  pushed only when MCP_PUSH_EVENTS asks for them (the main agent is still working).
- A permission prompt (Notification ``permission_prompt``, Gemini's ``ToolPermission``) or an MCP server asking for
  input (``elicitation_dialog``): always pushed, whatever MCP_PUSH_EVENTS says: the agent
  is blocked until the person answers.
- An idle prompt (``idle_prompt``, Claude waited 60 s for input): pushed, unless this
  session already pushed something in the last ten minutes (usually the Stop that
  preceded it).

The person's turn (``mcp_push.attention``): Claude Code and Codex ``UserPromptSubmit``, Gemini
``BeforeAgent`` and Codex's ``agent-turn-start`` record that a turn began (``Ledger.record_turn``)
and drop the session's turn-end pushes still held by MCP_PUSH_STOP_DELAY (the person is back at
the keyboard). They push nothing and print nothing, and build no channel: they run before every
prompt. A turn end whose turn lasted less than MCP_PUSH_MIN_TURN_SECONDS is recorded, not pushed.

What waits for the person (``mcp_push.asking.agents`` shapes the question and the decision):
Claude Code ``PermissionRequest`` and ``PreToolUse`` for ``AskUserQuestion``, Codex
``PermissionRequest``, Gemini CLI ``BeforeTool``. The hook writes an ask, makes sure a worker
delivers it (and listens for the answer), waits up to MCP_PUSH_ASK_TIMEOUT, and prints the
agent's documented decision JSON on stdout. On timeout (the ask is then ended ``expired``), on
any error, when the ask is cancelled, or when the agent kills the hook because the person
answered in the terminal (the ask is then ``cancelled``): it prints nothing and exits 0, so the
agent's own prompt decides. With MCP_PUSH_ASK_TIMEOUT=0 nothing waits: a Claude Code
PermissionRequest is then pushed as a "needs approval" notification, the others do nothing.

The same session and kind of event firing again within MCP_PUSH_DEDUPE_SECONDS (60 s)
sends nothing new (asks are never coalesced). Exit codes: 0 queued, answered, or deliberately
nothing (a hook that waits always exits 0, whatever went wrong); 1 a valid event that could not
be turned into a notification (an unsupported event, no channel configured), so Claude Code
reports it without blocking anything; 2 the payload is not a hook event. Only a blocking hook's
decision is ever written to stdout: agents read a hook's stdout.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from mcp_push.config import Settings
from mcp_push.errors import MCPPushError

if TYPE_CHECKING:
    from mcp_push.asking.agents import BlockingHook, Prompt
    from mcp_push.storage.base import AskRecord, Ledger

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_PAYLOAD = 1024 * 1024  # a hook event is a few KB; refuse to slurp anything huge
EXCERPT = 500
ASK_POLL = 0.1  # how often a blocking hook looks at its ask
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
CLAUDE_EVENTS = ("Stop", "SubagentStop", "Notification", "PermissionRequest", "SessionEnd", "UserPromptSubmit")
# BeforeTool waits for the person (asking.agents); BeforeAgent is the person's turn.
GEMINI_EVENTS = ("AfterAgent", "BeforeTool", "Notification", "BeforeAgent")
# hooks.json; its `notify` program sends agent-turn-complete (and agent-turn-start)
CODEX_HOOK_EVENTS = ("Stop", "PermissionRequest", "UserPromptSubmit")
TURN_EVENTS = ("UserPromptSubmit", "BeforeAgent")  # the person submitted a prompt: a turn starts
CODEX_TURN_START = "agent-turn-start"
STOP_KINDS = {"finished": "finished", "idle": "idle"}  # notice kind -> attention.plan's stop (held by STOP_DELAY)


class HookPayloadError(Exception):
    """The input is not a hook event we can read (exit 2)."""


class HookUnsupported(Exception):
    """A readable hook event we do not turn into notifications (exit 1)."""


@dataclass(frozen=True)
class TurnStart:
    """The person started a turn in ``run_id`` (``event`` names the hook, for the drop note);
    ``notify``: the payload is also a notification (Codex's agent-turn-start, a ``start`` event)."""

    run_id: str
    event: str
    notify: bool = False


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


HOOK_AGENTS = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli"}  # run-id prefix -> agent
SESSION_LABEL = 8  # characters of a session id in the source line (the run id has it whole)


def hook_source(settings: Settings, run_id: str, cwd: str | None) -> str | None:
    """The source line of a hook's message: the payload's project (``cwd``, else ours) and branch,
    this host, the agent and a short session label, all read from the run id ``<agent>:<session>``."""
    from mcp_push.render.source import source_line

    agent, _, session = run_id.partition(":")
    return source_line(
        cwd=cwd or os.getcwd(), agent=HOOK_AGENTS.get(agent, agent), session=session[:SESSION_LABEL], env=settings.env
    )


def _where(p: dict[str, Any], *, claude: bool = False) -> tuple[str, str]:
    """A payload's working directory and project; Claude Code's falls back to CLAUDE_PROJECT_DIR.
    The turn's start and its end derive their run id from the same values (``turn_start``)."""
    cwd = _text(p.get("cwd")) or (os.environ.get("CLAUDE_PROJECT_DIR", "") if claude else "") or os.getcwd()
    return cwd, project_of(cwd)


def project_of(cwd: str) -> str:
    name = os.path.basename(cwd.rstrip("/\\"))
    return name or cwd or "unknown project"


def notice_for(payload: dict[str, Any]) -> HookNotice | None:
    """The notification for a hook event; None when the event deliberately sends nothing."""
    if "hook_event_name" in payload:
        if is_gemini(payload):
            return _gemini(payload)
        if is_codex(payload):
            return _codex_hook(payload)
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
    cwd, project = _where(p, claude=True)
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


def turn_start(payload: dict[str, Any]) -> TurnStart | None:
    """The turn this payload starts (a prompt submitted), or None. Run ids are the ones the same
    session's turn end gets, so the turn end's held push is found and its length measured."""
    event = _text(payload.get("hook_event_name"))
    if event in TURN_EVENTS:
        agent = "gemini" if is_gemini(payload) else "codex" if is_codex(payload) else "claude"
        _, project = _where(payload, claude=agent == "claude")
        return TurnStart(make_run_id(agent, _text(payload.get("session_id")) or project), event)
    if "hook_event_name" not in payload and _text(payload.get("type")) == CODEX_TURN_START:
        _, project = _where(payload)
        return TurnStart(make_run_id("codex", _text(payload.get("thread-id")) or project), CODEX_TURN_START, True)
    return None


def is_codex(payload: dict[str, Any]) -> bool:
    """Codex's hook payloads carry ``turn_id`` and ``model`` (required in its schema); Claude Code's do not."""
    return "turn_id" in payload and "model" in payload and "permission_suggestions" not in payload


def is_gemini(payload: dict[str, Any]) -> bool:
    """Gemini CLI's events: AfterAgent and BeforeTool are its own names, and every Gemini payload
    carries an ISO ``timestamp`` in its base fields, which Claude Code's and Codex's do not."""
    event = _text(payload.get("hook_event_name"))
    return event in ("AfterAgent", "BeforeTool", "BeforeAgent") or isinstance(payload.get("timestamp"), str)


def _gemini(p: dict[str, Any]) -> HookNotice | None:
    event = _text(p.get("hook_event_name"))
    session = _text(p.get("session_id"))
    cwd, project = _where(p)
    rid = make_run_id("gemini", session or project)
    details = {"project": project, "session": session or "(none)", "cwd": cwd}
    if event == "AfterAgent":
        last = excerpt(_text(p.get("prompt_response")))
        head = f"Gemini CLI finished its turn in {project}."
        return HookNotice("finished", rid, f"{head}\n\n{last}" if last else head, details, "end")
    if event == "Notification":
        text = _text(p.get("message")) or "Gemini CLI needs your attention."
        if _text(p.get("notification_type")) == "ToolPermission":
            return HookNotice("approval", rid, f"{text} ({project})", details, title=f"🔐 Needs approval · {project}")
        return HookNotice("notice", rid, f"{text} ({project})", details, title=f"🔔 Gemini CLI · {project}")
    raise HookUnsupported(
        f"Gemini CLI event {event!r} is not one mcp-push notifies about; register `mcp-push hook` for "
        f"{', '.join(GEMINI_EVENTS)} only"
    )


def _codex_hook(p: dict[str, Any]) -> HookNotice | None:
    """Codex's hooks.json events (its ``notify`` program is ``_codex``); run ids match: the session is the thread."""
    event = _text(p.get("hook_event_name"))
    if event != "Stop":
        raise HookUnsupported(
            f"Codex hook event {event!r} is not one mcp-push notifies about; register `mcp-push hook` for "
            f"{', '.join(CODEX_HOOK_EVENTS)} only"
        )
    session = _text(p.get("session_id"))
    cwd, project = _where(p)
    details = {"project": project, "thread": session or "(none)", "cwd": cwd}
    last = excerpt(_text(p.get("last_assistant_message")))
    head = f"Codex finished a turn in {project}."
    rid = make_run_id("codex", session or project)
    return HookNotice("finished", rid, f"{head}\n\n{last}" if last else head, details, "end")


def _codex(p: dict[str, Any]) -> HookNotice | None:
    kind_name = _text(p.get("type"))
    if not kind_name:
        raise HookPayloadError("the Codex payload's type is empty or not a string")
    thread = _text(p.get("thread-id"))
    raw_turn = p.get("turn-id")
    turn = str(raw_turn).strip() if isinstance(raw_turn, str | int) and not isinstance(raw_turn, bool) else ""
    cwd, project = _where(p)
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
        origin = hook_source(settings, notice.run_id, notice.details.get("cwd"))
        stop = STOP_KINDS.get(notice.kind)
        if notice.event is not None:
            receipt = notifier.event(
                notice.run_id,
                notice.event,
                notice.message,
                data=notice.details or None,
                idempotency_key=key,
                origin=origin,
                stop=stop,
            )
        else:
            receipt = notifier.send(
                notice.title, notice.content(), run_id=notice.run_id, idempotency_key=key, origin=origin, stop=stop
            )
        if receipt.duplicate:
            return "duplicate"
        if not receipt.channels:
            return "recorded"
        ensure_delivery(runtime)
        return "queued"
    finally:
        runtime.close()


def mark_turn(settings: Settings, turn: TurnStart, now: float | None = None) -> int:
    """Record the turn and drop the run's held turn-end pushes; return how many were dropped.

    Only the ledger: no channel is built, no worker started (a dropped delivery needs none)."""
    from mcp_push.attention.rules import rules_for
    from mcp_push.tasks.runtime import Runtime
    from mcp_push.views import HOLD_STOP

    now = time.time() if now is None else now
    runtime = Runtime.open(settings)
    try:
        ledger = runtime.ledger
        ledger.record_turn(turn.run_id, now)
        held = [h.delivery.id for h in ledger.held(run_id=turn.run_id, hold=HOLD_STOP)]
        if not held:
            return 0
        at = rules_for(settings).clock(now, seconds=True)
        return len(ledger.drop_held(held, f"dropped: you were back at the keyboard at {at} ({turn.event})", now))
    finally:
        runtime.close()


# --- waiting for the person -------------------------------------------------------------


def blocking_for(settings: Settings, payload: dict[str, Any]) -> BlockingHook | None:
    """The blocking hook for this payload (None: a notification event), its preview redacted with
    every configured channel secret as well as the credential patterns."""
    if _text(payload.get("hook_event_name")) not in ("PermissionRequest", "PreToolUse", "BeforeTool"):
        return None
    from mcp_push.asking.agents import blocking_hook

    built: list[Any] = []

    def redact(text: str) -> str:
        if not built:  # only for an event that does block: listing the secrets builds every channel
            from mcp_push.channels import configured_secrets
            from mcp_push.channels.redact import Redactor

            built.append(Redactor([*configured_secrets(settings.env), settings.http_token]))
        return built[0](text) or ""

    return blocking_hook(payload, redact, make_run_id)


class _Stop:
    """Set when the agent gave up on the hook: a signal (the person answered in the terminal, Claude
    Code's hook timeout) or the agent process gone (this process re-parented)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.parent = os.getppid()

    def is_set(self) -> bool:
        if not self.event.is_set() and os.getppid() != self.parent:
            self.event.set()
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds) or self.is_set()


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    import signal  # here: its enums cost a millisecond, and only a hook that waits handles a signal

    stop = _Stop()
    previous: dict[int, Any] = {}
    try:
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[number] = signal.signal(number, lambda *_: stop.event.set())
    except ValueError:  # not the main thread (in-process callers): the deadline still applies
        pass
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _write_ask(runtime: Any, hook: BlockingHook, prompt: Prompt, seconds: float) -> str:
    """Write one ask for ``prompt`` (delivered like any notification); return its ticket."""
    from mcp_push.notifier import Notifier

    receipt = Notifier(runtime).ask(
        prompt.question,
        choices=list(prompt.choices),
        allow_text=prompt.allow_text,
        run_id=hook.run_id,
        timeout_seconds=seconds,
        kind=prompt.kind,
        title=prompt.title,
        origin=hook_source(runtime.settings, hook.run_id, None),
    )
    if receipt.duplicate or not receipt.channels:
        raise MCPPushError("the ask was not pushed to any channel")
    return receipt.ticket


def wait_for_answer(ledger: Ledger, ticket: str, deadline: float, stop: _Stop) -> AskRecord | None:
    """Poll the ask until it is answered (returned), ends otherwise, the deadline passes (the ask is
    then ended ``expired``, so buttons stop working) or ``stop`` is set (the ask is ``cancelled``)."""
    while True:
        ask = ledger.get_ask(ticket)
        if ask is None or ask.status != "waiting":
            return ask if ask is not None and ask.status == "answered" else None
        if stop.is_set():
            if ledger.end_ask(ticket, "cancelled", time.time()):
                return None
            continue  # an answer landed first: read it once more
        if time.monotonic() >= deadline:
            if ledger.end_ask(ticket, "expired", time.time()):
                return None
            continue
        stop.wait(min(ASK_POLL, max(0.0, deadline - time.monotonic())))


def decide(settings: Settings, hook: BlockingHook) -> dict[str, Any] | None:
    """Ask each of the hook's questions in turn within MCP_PUSH_ASK_TIMEOUT; the decision, or None."""
    from mcp_push.tasks.drain import ensure_delivery
    from mcp_push.tasks.runtime import Runtime

    deadline = time.monotonic() + settings.ask_timeout
    answers: list[AskRecord] = []
    runtime = Runtime.open(settings)
    try:
        with _stop_on_signals() as stop:
            for prompt in hook.prompts:
                remaining = deadline - time.monotonic()
                if remaining < 1 or stop.is_set():
                    return None
                ticket = _write_ask(runtime, hook, prompt, remaining)
                try:
                    ensure_delivery(runtime)
                    answer = wait_for_answer(runtime.ledger, ticket, deadline, stop)
                except BaseException:  # nobody waits for it any more: its buttons should say so
                    with suppress(Exception):
                        runtime.ledger.end_ask(ticket, "cancelled", time.time())
                    raise
                if answer is None:
                    return None
                answers.append(answer)
        return hook.decide(answers)
    finally:
        runtime.close()


def run_blocking(settings: Settings, hook: BlockingHook) -> int:
    """Print the agent's decision, or nothing (timeout, error, answered in the terminal); exit 0."""
    try:
        decision = decide(settings, hook)
    except Exception as exc:  # the agent's own prompt decides; never a traceback in its session
        print(
            f"mcp-push hook: {hook.event}: no answer from the phone ({type(exc).__name__}: {exc}); "
            "the agent asks in the terminal",
            file=sys.stderr,
        )
        return EXIT_OK
    if decision is not None:
        try:
            sys.stdout.write(json.dumps(decision, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):  # the agent stopped reading: nothing more to do
            pass
    return EXIT_OK


def _run_turn(settings: Settings, turn: TurnStart) -> int:
    """A prompt was submitted: record it, silently (an agent adds a prompt hook's stdout to the
    prompt, and Claude Code reads exit 2 as "erase the prompt": trouble is exit 1 and stderr)."""
    try:
        mark_turn(settings, turn)
    except Exception as exc:
        print(f"mcp-push hook: could not record the turn: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run_hook(settings: Settings, payload_arg: str | None, stdin: IO[str] | None) -> int:
    """``mcp-push hook [PAYLOAD]``. stdout carries a blocking hook's decision, nothing else; any
    problem is explained on stderr."""
    try:
        payload = read_payload(payload_arg, stdin)
        turn = turn_start(payload)
        if turn is not None:
            code = _run_turn(settings, turn)
            if not turn.notify or code != EXIT_OK:
                return code
        try:
            blocking = blocking_for(settings, payload)
        except Exception as exc:  # no decision: the agent's own prompt decides
            print(f"mcp-push hook: could not read the request: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_OK
        if blocking is not None and settings.ask_timeout > 0:
            return run_blocking(settings, blocking)
        if blocking is not None and (blocking.agent, blocking.event) != ("claude", "PermissionRequest"):
            return EXIT_OK  # waiting is off (MCP_PUSH_ASK_TIMEOUT=0): the agent's own prompt decides
        notice = notice_for(payload)
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
