"""The attention rules the whole way through real processes against the fake providers.

- Quiet hours: a window that closes about a minute after the test starts; pushes sent by
  ``mcp-push send`` wait held, survive a worker killed with SIGKILL, and a second worker sends
  one digest per channel when the window ends; an error goes through at once.
- Stop delay: ``mcp-push hook`` with a Claude Code ``Stop`` and then ``UserPromptSubmit`` pushes
  nothing; a ``Stop`` alone pushes once (the drain worker the hook starts waits out the delay).
- Escalation: an unanswered ask reaches tier 2 after its delay; the answer given there edits
  tier 1's message. Answered on tier 1 in time, tier 2 never hears of it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp_push.storage import SqliteLedger, TicketRecord
from mcp_push.views import DELIVERED, DROPPED, FOLDED, HELD, SETTLED
from tests.asking.two_way import two_way_env
from tests.conftest import _processes_under
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env

PAYLOADS = Path(__file__).parents[1] / "hook_payloads"


def mcp_push(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "mcp_push", "worker"], stdout=out, stderr=out, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def tickets(home: Path) -> list[TicketRecord]:
    ledger = SqliteLedger(home / "ledger.sqlite3")
    try:
        return [t for run in ledger.recent_run_ids(100) for t in ledger.run_tickets(run)]
    finally:
        ledger.close()


def settled(home: Path) -> bool:
    return all(d.status in SETTLED for t in tickets(home) for d in t.deliveries)


def quiet_window() -> tuple[str, float]:
    """``HH:MM-HH:MM`` in UTC around now, ending on the first minute boundary at least 30 s away."""
    now = time.time()
    end = math.ceil(now / 60) * 60
    if end - now < 30:
        end += 60
    start, stop_ = (dt.datetime.fromtimestamp(t, dt.UTC) for t in (end - 600, end))
    return f"{start:%H:%M}-{stop_:%H:%M}", float(end)


# --- quiet hours -----------------------------------------------------------------------------------


def test_quiet_hours_end_with_one_digest_per_channel_after_a_worker_was_killed(
    tmp_path: Path, telegram: FakeTelegram, ntfy: FakeNtfy
) -> None:
    home = tmp_path / "home"
    window, end = quiet_window()
    env = server_env(
        home,
        {**two_way_env(home, telegram, ntfy), "MCP_PUSH_QUIET": window, "MCP_PUSH_TZ": "UTC", "MCP_PUSH_SOURCE": "off"},
    )
    first = start_worker(env, tmp_path / "worker1.log")
    second = None
    try:
        wait_until(lambda: (home / "ledger.sqlite3").exists(), what="the first worker's ledger")
        for title in ("Build finished", "Tests green", "Deploy staged"):
            mcp_push(env, "send", title, f"{title}: details", "--run-id", "run-night")
        mcp_push(env, "send", "Prod is down", "502 from the load balancer", "--event", "error", "--run-id", "run-night")
        telegram.wait_message(timeout=30)  # the error went through quiet hours at once, to both channels
        error = ntfy.wait_message(timeout=30)
        assert "Prod is down" in error["title"] + error["message"]

        status = json.loads(mcp_push(env, "status", "run-night", "--json").stdout)
        held = [d for t in status["tickets"] if t["event"] is None for d in t["deliveries"]]
        assert len(held) == 6 and {d["status"] for d in held} == {HELD} and {d["hold"] for d in held} == {"quiet"}
        assert all(d["held_until"] and d["note"].startswith("held for quiet hours until") for d in held)

        first.send_signal(signal.SIGKILL)  # held pushes live in the ledger, not in a worker
        first.wait(timeout=10)
        second = start_worker(env, tmp_path / "worker2.log")

        wait = end - time.time() + 45
        digest = telegram.messages[telegram.wait_message(2, timeout=wait)]["text"]
        note = ntfy.wait_message(2, timeout=30)
        wait_until(lambda: settled(home), timeout=30, what="every delivery settled")
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
    assert time.time() >= end  # released at the end of the window, not before
    assert "3 notifications while you were away" in digest
    assert all(t in digest for t in ("Build finished", "Tests green", "Deploy staged"))
    assert note["title"] == "🌙 3 notifications while you were away" and "Deploy staged" in note["message"]
    assert len(telegram.messages) == 2 and len(ntfy.notifications()) == 2  # one digest per channel, once
    records = tickets(home)
    assert {d.status for t in records if t.event is None and t.run_id == "run-night" for d in t.deliveries} == {FOLDED}
    digests = [t for t in records if t.run_id.startswith("digest-")]
    assert sorted(d.deliveries[0].channel for d in digests) == ["ntfy", "telegram"]
    assert all(d.deliveries[0].status == DELIVERED for d in digests)
    assert telegram.problems == [] and ntfy.problems == []


# --- not while at the keyboard ---------------------------------------------------------------------


def stop_payload(session: str, event: str = "Stop") -> str:
    name = "claude_stop" if event == "Stop" else "claude_user_prompt_submit"
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    data["session_id"] = session
    return json.dumps(data)


def test_a_stop_followed_by_a_prompt_pushes_nothing_and_a_stop_alone_pushes_once(
    tmp_path: Path, ntfy: FakeNtfy
) -> None:
    home = tmp_path / "home"
    env = server_env(home, {**two_way_env(home, None, ntfy), "MCP_PUSH_STOP_DELAY": "4"})
    mcp_push(env, "hook", stdin=stop_payload("back-soon"))
    mcp_push(env, "hook", stdin=stop_payload("away-long"))
    back = mcp_push(env, "hook", stdin=stop_payload("back-soon", "UserPromptSubmit"))
    assert back.stdout == ""
    sent = ntfy.wait_message(timeout=60)  # the drain worker the first hook started waited out the delay
    # The drainer leaves only when nothing is held any more: after that nothing can be sent.
    wait_until(lambda: not _processes_under(tmp_path), timeout=60, what="the drain worker to finish")
    assert len(ntfy.notifications()) == 1
    records = {t.run_id: t for t in tickets(home)}
    (away,) = [t for r, t in records.items() if r.endswith("away-long")]
    (soon,) = [t for r, t in records.items() if r.endswith("back-soon")]
    assert away.deliveries[0].status == DELIVERED
    note = away.deliveries[0].note or ""
    assert note.startswith("sent at ") and note.endswith("nobody came back within 4 s (MCP_PUSH_STOP_DELAY)")
    assert soon.deliveries[0].status == DROPPED
    assert "shop-api" in sent["message"] or "shop-api" in sent["title"]
    assert ntfy.problems == []


# --- escalation of asks ------------------------------------------------------------------------------


def escalating_ask(
    tmp_path: Path, telegram: FakeTelegram, ntfy: FakeNtfy, tiers: str
) -> tuple[Path, subprocess.Popen[str], int]:
    """``mcp-push ask --wait`` with MCP_PUSH_ASK_ESCALATE=``tiers``; returns once tier 1 (telegram) has it."""
    home = tmp_path / "home"
    asking = ask(server_env(home, {**two_way_env(home, telegram, ntfy), "MCP_PUSH_ASK_ESCALATE": tiers}))
    return home, asking, telegram.wait_message(timeout=30)


def ask(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "ask", "Deploy to prod?", "--choice", "Deploy", "--choice", "Wait",
         "--wait", "90", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def answer_of(asking: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, err = asking.communicate(timeout=90)
    finally:
        if asking.poll() is None:
            asking.kill()
    assert asking.returncode == 0, err
    return json.loads(out)


def test_an_unanswered_ask_reaches_tier_two_and_its_answer_edits_tier_one(
    tmp_path: Path, telegram: FakeTelegram, ntfy: FakeNtfy
) -> None:
    home, asking, message = escalating_ask(tmp_path, telegram, ntfy, "telegram; ntfy @2")
    tier2 = ntfy.wait_message(timeout=30)  # nobody answered on telegram: two seconds later, ntfy
    assert [a["label"] for a in tier2["actions"]] == ["Deploy", "Wait"]
    ntfy.press(tier2["id"], "Wait")
    assert answer_of(asking)["answer"] == "Wait"
    assert telegram.wait_edit(message, timeout=30)["text"].endswith("✅ Answered: Wait (via ntfy)")
    (record,) = [t for t in tickets(home) if t.event == "ask"]
    notes = {d.channel: (d.status, d.hold, d.note) for d in record.deliveries}
    assert notes["telegram"][:2] == (DELIVERED, None)
    assert notes["ntfy"][:2] == (DELIVERED, "escalate") and "escalated at" in (notes["ntfy"][2] or "")
    assert telegram.problems == [] and ntfy.problems == []


def test_an_ask_answered_on_tier_one_in_time_never_reaches_tier_two(
    tmp_path: Path, telegram: FakeTelegram, ntfy: FakeNtfy
) -> None:
    home, asking, message = escalating_ask(tmp_path, telegram, ntfy, "telegram; ntfy @600")
    query = telegram.press(message, "Deploy")
    assert telegram.wait_callback_answer(query, timeout=30) == "Answered: Deploy."
    assert answer_of(asking)["answer"] == "Deploy"
    wait_until(lambda: not _processes_under(tmp_path), timeout=60, what="the drain worker to finish")
    (record,) = [t for t in tickets(home) if t.event == "ask"]
    tier2 = next(d for d in record.deliveries if d.channel == "ntfy")
    assert tier2.status == DROPPED and "the ask was answered" in (tier2.note or "")
    assert ntfy.notifications() == []  # tier 2 never heard of it
    assert telegram.problems == []
