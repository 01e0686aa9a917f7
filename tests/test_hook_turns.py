"""The person's turn through ``mcp-push hook``: UserPromptSubmit (Claude Code, Codex), BeforeAgent
(Gemini CLI) and Codex's agent-turn-start record that a prompt was submitted, drop the session's
turn end held by MCP_PUSH_STOP_DELAY, and let MCP_PUSH_MIN_TURN_SECONDS measure turns.

The hook runs as the agents run it (a process, the payload on stdin); the ledger is read back."""

# ruff: noqa: F811  (test arguments name the fixtures imported from test_hooks)
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mcp_push.hooks import TurnStart, make_run_id, notice_for, turn_start
from mcp_push.storage import SqliteLedger
from mcp_push.views import DROPPED, HELD, HOLD_STOP
from tests.fakes.ntfy import FakeNtfy
from tests.test_hooks import home, hook, ledger  # noqa: F401  (the fixtures test_hooks runs hooks with)

PAYLOADS = Path(__file__).parent / "hook_payloads"
Hook = Callable[..., subprocess.CompletedProcess[str]]


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def run(hook: Hook, name: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mcp-push hook`` (test_hooks' fixture) with a recorded payload on stdin."""
    return hook(stdin=(PAYLOADS / f"{name}.json").read_text(), extra=extra)


# --- shaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("claude_user_prompt_submit", "claude_stop"),
        ("gemini_before_agent", "gemini_after_agent"),
        ("codex_user_prompt_submit", "codex_stop"),
    ],
)
def test_a_prompt_names_the_run_its_turn_end_is_written_to(start: str, end: str) -> None:
    turn = turn_start(payload(start))
    notice = notice_for(payload(end))
    assert turn is not None and notice is not None
    assert turn.run_id == notice.run_id and not turn.notify
    assert turn.event == payload(start)["hook_event_name"]


def test_codex_agent_turn_start_is_a_turn_and_still_a_notification() -> None:
    turn = turn_start(payload("codex_agent_turn_start"))
    assert turn == TurnStart(make_run_id("codex", "b5f6c1c2-1111-2222-3333-444455556666"), "agent-turn-start", True)
    assert turn_start(payload("claude_stop")) is None and turn_start(payload("codex_agent_turn_complete")) is None


# --- through the process ------------------------------------------------------------------------


def test_a_prompt_drops_the_held_turn_end_and_prints_nothing(hook: Hook, ledger: SqliteLedger, fake: FakeNtfy) -> None:
    stop = run(hook, "claude_stop", {"MCP_PUSH_STOP_DELAY": "600"})
    assert stop.returncode == 0, stop.stderr
    run_id = notice_for(payload("claude_stop")).run_id  # type: ignore[union-attr]
    (held,) = ledger.held(run_id=run_id)
    assert (held.delivery.status, held.delivery.hold) == (HELD, HOLD_STOP)

    back = run(hook, "claude_user_prompt_submit", {"MCP_PUSH_STOP_DELAY": "600"})
    assert (back.returncode, back.stdout) == (0, "")  # a prompt hook's stdout would join the prompt
    (record,) = ledger.run_tickets(run_id)
    (delivery,) = record.deliveries
    assert delivery.status == DROPPED
    assert delivery.note is not None and delivery.note.startswith("dropped: you were back at the keyboard at ")
    assert delivery.note.endswith("(UserPromptSubmit)")
    assert ledger.turn_started(run_id) is not None
    assert fake.requests == []  # nothing was pushed, nothing is left to push


def test_a_long_turn_is_pushed_and_a_short_one_recorded_with_its_reason(hook: Hook, ledger: SqliteLedger) -> None:
    run_id = notice_for(payload("claude_stop")).run_id  # type: ignore[union-attr]
    env = {"MCP_PUSH_DEDUPE_SECONDS": "0"}  # the same Stop twice is not a loop here
    ledger.record_turn(run_id, time.time() - 120)  # the person's prompt, two minutes ago
    long = run(hook, "claude_stop", env)
    assert long.returncode == 0, long.stderr
    (first,) = ledger.run_tickets(run_id)
    assert first.reason is None and [d.channel for d in first.deliveries] == ["ntfy"]

    assert run(hook, "claude_user_prompt_submit", env).returncode == 0  # a new turn, now
    short = run(hook, "claude_stop", env)
    assert short.returncode == 0, short.stderr
    second = ledger.run_tickets(run_id)[-1]
    assert second.ticket != first.ticket and second.deliveries == ()
    assert second.reason is not None and "less than MCP_PUSH_MIN_TURN_SECONDS=60" in second.reason

    off = run(hook, "claude_stop", {**env, "MCP_PUSH_MIN_TURN_SECONDS": "0"})
    assert off.returncode == 0, off.stderr
    third = ledger.run_tickets(run_id)[-1]
    assert third.reason is None and [d.channel for d in third.deliveries] == ["ntfy"]  # 0 turns the rule off


def test_a_stop_without_a_recorded_prompt_goes_out_as_before(hook: Hook, ledger: SqliteLedger) -> None:
    stop = run(hook, "claude_stop")
    assert stop.returncode == 0, stop.stderr
    (record,) = ledger.run_tickets(notice_for(payload("claude_stop")).run_id)  # type: ignore[union-attr]
    assert record.reason is None and [d.channel for d in record.deliveries] == ["ntfy"]


def test_a_bad_rule_stops_the_hook_with_one_line_naming_it(hook: Hook, ledger: SqliteLedger) -> None:
    bad = run(hook, "claude_stop", {"MCP_PUSH_ROUTE_END": "telegram"})  # not configured here
    assert bad.returncode != 0
    assert "MCP_PUSH_ROUTE_END" in bad.stderr and "telegram" in bad.stderr
    assert ledger.dump_table("tickets") == []
