"""`mcp-push hook`: recorded Claude Code and Codex payloads in, one queued notification out.

The subprocess tests run the command exactly as an agent does (Claude Code: event on stdin;
Codex: JSON as the last argument) against a fake ntfy; delivery then happens in a detached
drain worker while the hook has long returned. How fast a hook returns is measured by
bench/hook.py, not asserted here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_push import hooks
from mcp_push.hooks import HookNotice, enqueue, notice_for, read_payload, run_hook
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.runtime import Runtime
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.helpers import hold_provider, wait_until
from tests.server.conftest import server_env

PAYLOADS = Path(__file__).parent / "hook_payloads"
CLAUDE_SESSION = "00893aaf-19fa-41d2-8238-13269b9b3ca0"
CLAUDE_RUN = f"claude:{CLAUDE_SESSION}"
CODEX_RUN = "codex:b5f6c1c2-1111-2222-3333-444455556666"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> str:
    return (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def hook(home: Path, fake: FakeNtfy):
    """Run `python -m mcp_push hook` as the agents do."""

    def run(
        stdin: str | None = None, arg: str | None = None, extra: dict[str, str] | None = None, channels: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = server_env(home, {**(NTFY.env(fake.url) if channels else {}), **(extra or {})})
        argv = [sys.executable, "-m", "mcp_push", "hook", *([arg] if arg is not None else [])]
        return subprocess.run(
            argv,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


@pytest.fixture
def ledger(home: Path) -> Iterator[SqliteLedger]:
    home.mkdir(parents=True, exist_ok=True)
    opened = SqliteLedger(home / "ledger.sqlite3")
    yield opened
    opened.close()


def tickets(ledger: SqliteLedger) -> list[dict[str, Any]]:
    return ledger.dump_table("tickets")


def settled(ledger: SqliteLedger, run_id: str) -> bool:
    records = ledger.run_tickets(run_id)
    return bool(records) and all(d.status == "delivered" for r in records for d in r.deliveries)


# --- shaping: payload -> notice (no process, no ledger) --------------------------------------


def test_claude_stop_is_an_end_event_for_the_session() -> None:
    notice = notice_for(payload("claude_stop"))
    assert notice is not None
    assert (notice.kind, notice.event, notice.run_id) == ("finished", "end", CLAUDE_RUN)
    assert "finished" in notice.message and "shop-api" in notice.message
    assert "412 tests pass" in notice.message  # the last assistant message, excerpted
    assert notice.details["project"] == "shop-api" and notice.details["session"] == CLAUDE_SESSION


@pytest.mark.parametrize(
    ("name", "kind", "event", "title_start"),
    [
        ("claude_subagent_stop", "subagent", "update", None),
        ("claude_session_end", "session-end", "end", None),
        ("claude_notification_permission", "approval", None, "🔐 Needs approval · shop-api"),
        ("claude_permission_request", "approval", None, "🔐 Needs approval · shop-api"),
        ("claude_notification_idle", "idle", None, "💤 Waiting for you · shop-api"),
        ("claude_notification_legacy", "approval", None, "🔐 Needs approval · blog"),
        ("codex_agent_turn_complete", "finished", "end", None),
        ("codex_agent_turn_start", "turn-start", "start", None),
        ("codex_stop", "finished", "end", None),
        ("gemini_after_agent", "finished", "end", None),
        ("gemini_notification", "approval", None, "🔐 Needs approval · blog"),
    ],
)
def test_every_recorded_payload_maps_to_a_notice(name, kind, event, title_start) -> None:
    notice = notice_for(payload(name))
    assert notice is not None
    assert (notice.kind, notice.event) == (kind, event)
    if title_start:
        assert notice.title == title_start
    assert notice.run_id.startswith(("claude:", "codex:", "gemini:"))
    assert hooks._RUN_ID_BAD.search(notice.run_id) is None and len(notice.run_id) <= 128
    assert notice.details["project"] in notice.content()


def test_codex_stop_hook_and_notify_report_a_turn_under_one_run_id() -> None:
    """Both registered, the same turn's two firings share a run id and a kind: the dedupe window sends one."""
    hook, notify = notice_for(payload("codex_stop")), notice_for(payload("codex_agent_turn_complete"))
    assert hook is not None and notify is not None
    assert hook.run_id == "codex:b5f6c1c2-1111-2222-3333-444455556666" and hook.kind == notify.kind == "finished"
    assert "I left the publish step to you." in hook.content()


def test_gemini_events_are_told_apart_from_claude_codes() -> None:
    after = notice_for(payload("gemini_after_agent"))
    assert after is not None and after.run_id.startswith("gemini:")
    assert "Gemini CLI finished its turn in blog." in after.content() and "214 posts converted" in after.content()
    claude = notice_for({**payload("gemini_notification"), "notification_type": "permission_prompt"})
    assert claude is not None and claude.run_id.startswith("gemini:")  # the timestamp says Gemini
    without_stamp = {k: v for k, v in payload("gemini_notification").items() if k != "timestamp"}
    assert notice_for(without_stamp).run_id.startswith("claude:")  # type: ignore[union-attr]


def test_other_codex_and_gemini_hook_events_are_unsupported() -> None:
    with pytest.raises(hooks.HookUnsupported, match="Codex hook event 'PostToolUse'"):
        notice_for({**payload("codex_stop"), "hook_event_name": "PostToolUse"})
    with pytest.raises(hooks.HookUnsupported, match=r"Gemini CLI event 'AfterTool'.*AfterAgent, BeforeTool"):
        notice_for({**payload("gemini_after_agent"), "hook_event_name": "AfterTool", "tool_name": "x"})


def test_session_end_says_why() -> None:
    notice = notice_for(payload("claude_session_end"))
    assert notice is not None and "exited at the prompt" in notice.message


def test_codex_turn_complete_names_project_thread_and_request() -> None:
    notice = notice_for(payload("codex_agent_turn_complete"))
    assert notice is not None and notice.run_id == CODEX_RUN
    assert notice.details["project"] == "example" and notice.details["turn"] == "12345"
    assert "Rename `foo` to `bar`" in notice.details["asked"]
    assert "cargo build" in notice.message


def test_codex_payload_without_thread_id_groups_by_project(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    notice = notice_for(payload("codex_agent_turn_complete_legacy"))
    assert notice is not None and notice.run_id == f"codex:{tmp_path.name}"


def test_auth_success_notification_sends_nothing() -> None:
    p = {**payload("claude_notification_idle"), "notification_type": "auth_success", "message": "Logged in"}
    assert notice_for(p) is None


def test_run_ids_are_made_valid() -> None:
    notice = notice_for({**payload("claude_stop"), "session_id": "weird id/with spaces" + "x" * 200})
    assert notice is not None
    assert notice.run_id.startswith("claude:weird-id-with-spaces")
    assert len(notice.run_id) == 128 and hooks._RUN_ID_BAD.search(notice.run_id) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON list"),
        ('"Stop"', "JSON str"),
        ('{"hello": "world"}', "not a hook event"),
        ('{"hook_event_name": 7}', "hook_event_name"),
    ],
)
def test_bad_payloads_are_rejected_with_a_clear_message(text, fragment) -> None:
    with pytest.raises(hooks.HookPayloadError, match=fragment):
        notice_for(read_payload(None, io.StringIO(text)))


def test_a_terminal_on_stdin_is_not_waited_on() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(hooks.HookPayloadError, match="stdin"):
        read_payload(None, Tty("{}"))


def test_the_argument_wins_over_stdin() -> None:
    class Exploding(io.StringIO):
        def read(self, *args: Any) -> str:
            raise AssertionError("stdin must not be read when the payload is an argument (Codex)")

    assert read_payload(raw("codex_agent_turn_complete"), Exploding())["type"] == "agent-turn-complete"


# --- queueing in process: dedupe window, idle quiet, policy ----------------------------------


@pytest.fixture
def queue(make_settings, fake, monkeypatch):
    """enqueue() against a fresh home, with the detached drainer replaced by a recorder."""
    spawned: list[int] = []
    monkeypatch.setattr("mcp_push.tasks.drain.ensure_delivery", lambda runtime: spawned.append(1))
    settings = make_settings(NTFY.env(fake.url))

    def go(notice: HookNotice, now: float | None = None) -> str:
        return enqueue(settings, notice, now)

    go.settings = settings  # type: ignore[attr-defined]
    go.spawned = spawned  # type: ignore[attr-defined]
    return go


def run_records(settings, run_id: str):
    runtime = Runtime.open(settings)
    try:
        return runtime.ledger.run_tickets(run_id)
    finally:
        runtime.close()


def test_enqueue_queues_once_and_starts_delivery(queue) -> None:
    notice = notice_for(payload("claude_stop"))
    assert notice is not None
    assert queue(notice) == "queued"
    assert queue(notice) == "duplicate"
    assert queue.spawned == [1]
    (record,) = run_records(queue.settings, CLAUDE_RUN)
    assert record.event == "end" and [d.channel for d in record.deliveries] == ["ntfy"]
    assert record.idempotency_key.startswith(f"hook:{CLAUDE_RUN}:finished:")


def test_duplicate_window_spans_bucket_boundaries(queue) -> None:
    """A firing just after a bucket boundary still sees the one just before it."""
    notice = notice_for(payload("claude_stop"))
    assert notice is not None
    now = time.time()
    window = queue.settings.dedupe_seconds
    runtime = Runtime.open(queue.settings)
    try:
        previous_bucket = int(now // window) - 1
        runtime.ledger.create_ticket(
            NewTicket(
                "tk-earlier", CLAUDE_RUN, "t", "c", now - 5, ("ntfy",), "end", None, None,
                f"hook:{CLAUDE_RUN}:finished:{previous_bucket}",
            )
        )  # fmt: skip
    finally:
        runtime.close()
    assert queue(notice, now) == "duplicate"
    assert queue(notice, now + window + 1) == "queued"  # outside the window: a new notification


def test_different_kinds_of_the_same_session_are_not_duplicates(queue) -> None:
    for name in ("claude_stop", "claude_notification_permission", "claude_session_end"):
        notice = notice_for(payload(name))
        assert notice is not None and queue(notice) == "queued", name
    assert len(run_records(queue.settings, CLAUDE_RUN)) == 3


def test_idle_prompt_after_a_recent_push_stays_quiet(queue) -> None:
    idle = notice_for(payload("claude_notification_idle"))
    stop = notice_for(payload("claude_stop"))
    assert idle is not None and stop is not None
    assert queue(stop) == "queued"
    assert queue(idle) == "quiet"
    other_session = notice_for({**payload("claude_notification_idle"), "session_id": "another-session"})
    assert other_session is not None and queue(other_session) == "queued"


def test_subagent_stop_is_recorded_not_pushed_by_default(queue) -> None:
    notice = notice_for(payload("claude_subagent_stop"))
    assert notice is not None and queue(notice) == "recorded"
    assert queue.spawned == []
    (record,) = run_records(queue.settings, CLAUDE_RUN)
    assert record.event == "update" and record.deliveries == () and "MCP_PUSH_EVENTS" in (record.reason or "")


def test_run_hook_in_process_is_silent(queue, capsys) -> None:
    code = run_hook(queue.settings, None, io.StringIO(raw("claude_notification_permission")))
    out = capsys.readouterr()
    assert code == 0 and out.out == "" and out.err == ""


# --- as the agents run it: a real subprocess ----------------------------------------------------


def test_claude_stop_from_stdin_is_queued_and_delivered_in_the_background(hook, ledger, fake) -> None:
    release = hold_provider(fake)  # the provider answers only when the test says so
    done = hook(stdin=raw("claude_stop"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert not settled(ledger, CLAUDE_RUN), "the hook returned only after the provider answered"
    release.set()
    (ticket,) = tickets(ledger)
    assert ticket["run_id"] == CLAUDE_RUN and ticket["event"] == "end"
    assert "Finished" in ticket["title"]
    assert "shop-api" in ticket["content"] and "finished its turn" in ticket["content"]
    wait_until(lambda: settled(ledger, CLAUDE_RUN), timeout=30, what="background delivery")
    (request,) = fake.wait_for(1)
    assert b"shop-api" in request.body
    assert fake.problems == []


def test_codex_notify_argument_is_queued_and_delivered(hook, home, ledger, fake) -> None:
    done = hook(arg=raw("codex_agent_turn_complete"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    (ticket,) = tickets(ledger)
    assert ticket["run_id"] == CODEX_RUN and ticket["event"] == "end"
    assert "example" in ticket["content"] and "Codex finished a turn" in ticket["content"]
    status = subprocess.run(
        [sys.executable, "-m", "mcp_push", "status", CODEX_RUN, "--wait", "30", "--json"],
        capture_output=True,
        text=True,
        env=server_env(home, NTFY.env(fake.url)),
        timeout=60,
    )
    assert status.returncode == 0, status.stderr  # the run id is one `mcp-push status` / notify_status knows
    assert json.loads(status.stdout)["status"] == "success"
    assert b"cargo build" in fake.wait_for(1)[0].body


def test_permission_prompt_is_pushed_even_when_end_events_are_not(hook, ledger, fake) -> None:
    done = hook(stdin=raw("claude_notification_permission"), extra={"MCP_PUSH_EVENTS": "error"})
    assert done.returncode == 0, done.stderr
    (ticket,) = tickets(ledger)
    assert ticket["title"] == "🔐 Needs approval · shop-api"
    assert "needs your permission to use Bash" in ticket["content"] and ticket["run_id"] == CLAUDE_RUN
    wait_until(lambda: settled(ledger, CLAUDE_RUN), timeout=30, what="background delivery")


def test_duplicate_firings_send_one_notification(hook, ledger, fake) -> None:
    first = hook(stdin=raw("claude_session_end"))
    second = hook(stdin=raw("claude_session_end"))
    assert (first.returncode, second.returncode) == (0, 0), (first.stderr, second.stderr)
    assert len(tickets(ledger)) == 1
    wait_until(lambda: settled(ledger, CLAUDE_RUN), timeout=30, what="background delivery")
    time.sleep(0.3)
    assert len(fake.requests) == 1


def test_concurrent_duplicate_firings_send_one_notification(home, fake, ledger) -> None:
    env = server_env(home, NTFY.env(fake.url))
    argv = [sys.executable, "-m", "mcp_push", "hook"]
    procs = [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(3)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(raw("claude_stop").encode())
        proc.stdin.close()
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert len(tickets(ledger)) == 1
    wait_until(lambda: settled(ledger, CLAUDE_RUN), timeout=30, what="background delivery")


def test_the_command_line_does_not_load_the_mcp_sdk() -> None:
    """Every `mcp-push hook` imports mcp_push.cli; the MCP SDK (~0.5-1 s to import) stays out of it."""
    probe = "import sys, mcp_push.cli; print('mcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_each_recorded_payload_is_queued_and_delivered(hook, ledger, fake) -> None:
    names = ("claude_stop", "claude_notification_permission", "claude_session_end", "claude_subagent_stop")
    for name in (*names, "codex_agent_turn_complete"):
        body = payload(name)
        if name.startswith("codex"):
            body["thread-id"] = "payload-check"
            done = hook(arg=json.dumps(body))
        else:
            body["session_id"] = f"payload-check-{name}"
            done = hook(stdin=json.dumps(body))
        assert done.returncode == 0, (name, done.stderr)
        assert done.stdout == "", name
    wait_until(lambda: all(settled(ledger, r) for r in ledger.recent_run_ids(20)), timeout=30, what="deliveries")


def test_bad_json_exits_2_with_a_message_and_writes_nothing(hook, ledger) -> None:
    for stdin, arg in (("{oops", None), ("", None), ("[]", None), (None, "not json"), (None, '{"x": 1}')):
        done = hook(stdin=stdin, arg=arg)
        assert done.returncode == 2, (stdin, arg, done.stderr)
        assert done.stdout == ""
        assert done.stderr.startswith("mcp-push hook: ") and "Traceback" not in done.stderr
    assert tickets(ledger) == []


def test_unsupported_event_exits_1_without_blocking_the_agent(hook, ledger) -> None:
    done = hook(stdin=raw("claude_pre_tool_use"))
    assert done.returncode == 1  # not 2: for PreToolUse, exit 2 would block the tool call
    assert "PreToolUse" in done.stderr and "Traceback" not in done.stderr and done.stdout == ""
    assert tickets(ledger) == []


def test_no_channel_configured_exits_1_with_the_reason(hook, ledger) -> None:
    done = hook(stdin=raw("claude_stop"), channels=False)
    assert done.returncode == 1  # not 2: a Stop hook exiting 2 would make Claude keep working
    assert "no channel is configured" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
