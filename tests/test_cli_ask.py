"""`mcp-push ask`, `answer` and `cancel` as a user runs them: real subprocesses, exit codes, JSON."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.asking.answers import ACCEPTED, apply_answer
from mcp_push.storage import SqliteLedger
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.helpers import end_processes_under, wait_until
from tests.server.conftest import server_env


@pytest.fixture(autouse=True)
def _no_drainer_left(tmp_path: Path) -> Iterator[None]:
    """This test's drain workers end with it (``end_processes_under`` says why)."""
    yield
    end_processes_under(tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path, fake: FakeNtfy) -> dict[str, str]:
    return server_env(home, NTFY.env(fake.url))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_push", *args], capture_output=True, text=True, env=env, timeout=60
    )


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_push", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def waiting_ticket(home: Path) -> str:
    """The ticket of the one ask a process put, once it is in the ledger."""

    def look() -> str | None:
        if not (home / "ledger.sqlite3").exists():
            return None
        ledger = SqliteLedger(home / "ledger.sqlite3")
        try:
            asks = ledger.waiting_asks(time.time())
        finally:
            ledger.close()
        return asks[0].ticket if asks else None

    return wait_until(look, what="the ask in the ledger")


def answer(home: Path, ticket: str, choice: int) -> str:
    ledger = SqliteLedger(home / "ledger.sqlite3")
    try:
        return apply_answer(ledger, ticket, via="ntfy", by="ntfy", now=time.time(), choice=choice).outcome
    finally:
        ledger.close()


def test_ask_waits_and_prints_the_answer_alone(env, home, fake) -> None:
    proc = start(env, "ask", "Deploy build 42?", "--choice", "Deploy", "--choice", "Hold", "--wait", "50")
    ticket = waiting_ticket(home)
    pushed = wait_until(
        lambda: [r for r in fake.requests if r.method != "GET"], what="the question pushed to ntfy (by a drain worker)"
    )
    assert answer(home, ticket, 1) == ACCEPTED
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == "Hold\n"  # answer=$(mcp-push ask ...) gets just the answer
    assert "Deploy build 42?" in pushed[0].body.decode()
    assert fake.problems == []


def test_ask_json_names_the_answer_and_where_it_came_from(env, home) -> None:
    proc = start(env, "ask", "Merge?", "--json", "--run-id", "pr-7")
    ticket = waiting_ticket(home)
    answer(home, ticket, 0)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert (doc["ticket"], doc["run_id"], doc["status"], doc["answer"]) == (ticket, "pr-7", "answered", "Yes")
    assert doc["ask"]["via"] == "ntfy" and doc["ask"]["choices"] == ["Yes", "No"]


def test_an_unanswered_ask_exits_1_when_it_expires(env) -> None:
    done = run(env, "ask", "Still there?", "--timeout", "1")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "expired without an answer" in done.stderr


def test_an_ask_still_waiting_at_the_wait_deadline_exits_1(env, home) -> None:
    done = run(env, "ask", "Still there?", "--wait", "0.5", "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert (doc["status"], doc["done"]) == ("waiting", False)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("ask", ""), "question is required"),
        (("ask", "Go?", *[arg for i in range(6) for arg in ("--choice", f"c{i}")]), "6 labels"),
        (("ask", "Go?", "--choice", "a", "--choice", "A"), "given twice"),
        (("ask", "Go?", "--timeout", "0"), "--timeout is 0; give 1 to 86400"),
        (("ask", "Go?", "--wait", "-1"), "--wait -1 is out of range"),
        (("ask", "Go?", "--channel", "telegram"), "not configured"),
        (("answer", "tk-nope", "1"), "no question has ticket"),
        (("cancel", "tk-nope"), "no ticket"),
    ],
)
def test_bad_input_exits_2_and_says_why(env, args, words) -> None:
    done = run(env, *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr


def test_answer_from_the_terminal_first_wins(env, home) -> None:
    asked = run(env, "ask", "Which region?", "--choice", "eu-west", "--choice", "us-east", "--wait", "0", "--json")
    assert asked.returncode == 0, asked.stderr
    ticket = json.loads(asked.stdout)["ticket"]
    assert json.loads(asked.stdout)["status"] == "waiting"
    wrong = run(env, "answer", ticket, "ap-south")
    assert wrong.returncode == 2 and "1. eu-west, 2. us-east" in wrong.stderr
    text = run(env, "answer", ticket, "somewhere warm", "--text")
    assert text.returncode == 2 and "not a text" in text.stderr
    first = run(env, "answer", ticket, "US-EAST")  # a label, case ignored
    assert first.returncode == 0 and first.stdout == "Answered: us-east.\n", first.stderr
    second = run(env, "answer", ticket, "1")
    assert second.returncode == 1 and "Already answered: us-east via cli" in second.stderr
    status = run(env, "status", ticket)
    assert "ask: answered 'us-east' via cli" in status.stdout


def test_cancel_withdraws_a_question_a_waiter_then_exits_1(env, home) -> None:
    proc = start(env, "ask", "Rebuild the cache?", "--wait", "50")
    ticket = waiting_ticket(home)
    cancelled = run(env, "cancel", ticket)
    assert cancelled.returncode == 0 and cancelled.stdout == f"{ticket} cancelled\n"
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and out == ""
    assert "cancelled without an answer" in err
    again = run(env, "cancel", ticket, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "cancelled"
    sent = run(env, "send", "t", "c")
    plain = sent.stdout.split()[0]
    assert run(env, "cancel", plain).returncode == 2


def test_ctrl_c_withdraws_the_question(env, home) -> None:
    proc = start(env, "ask", "Delete the branch?", "--wait", "50")
    ticket = waiting_ticket(home)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"the question {ticket} was withdrawn" in err
    assert answer(home, ticket, 0) == "ended"


CTRL_C_AT_HANDOVER = """
import os, signal, sys
import mcp_push.tasks.drain as drain
drain.ensure_delivery = lambda runtime: os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a drainer starts
from mcp_push.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_before_the_wait_begins_withdraws_the_question_too(env, home) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_AT_HANDOVER, "ask", "Drop the table?", "--wait", "50"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 130
    assert "was withdrawn" in done.stderr, done.stderr
    ticket = done.stderr.split("the question ")[1].split()[0]
    assert answer(home, ticket, 0) == "ended"
