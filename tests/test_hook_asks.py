"""Blocking hooks: an agent's permission request or question waits in `mcp-push hook` for the phone.

The shaping tests read the recorded payloads (tests/hook_payloads, from each agent's docs) and
check the decision JSON against the documented shapes. The round trips run `mcp-push hook` as the
agents do, against a fake ntfy: the test waits for the ask to reach the ledger, answers it the way
every answer path does (``apply_answer`` / ``apply_token``), and reads the hook's stdout.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_push.asking.agents import ALLOW, ALWAYS, DENY, blocking_hook, is_codex, preview
from mcp_push.asking.answers import ACCEPTED, ALREADY, apply_answer, apply_token
from mcp_push.asking.tokens import AnswerKey
from mcp_push.hooks import make_run_id
from mcp_push.storage import SqliteLedger
from mcp_push.storage.base import AskRecord
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import CHAT as TELEGRAM_CHAT
from tests.fakes.telegram import FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env

PAYLOADS = Path(__file__).parent / "hook_payloads"
CLAUDE_RUN = "claude:00893aaf-19fa-41d2-8238-13269b9b3ca0"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def shaped(name: str):  # type: ignore[no-untyped-def]
    hook = blocking_hook(payload(name), lambda text: text, make_run_id)
    assert hook is not None, name
    return hook


def answered(hook: Any, index: int, choice: int | None, text: str | None = None, via: str = "telegram") -> AskRecord:
    prompt = hook.prompts[index]
    label = prompt.choices[choice] if choice is not None else text
    return AskRecord(
        "tk-1", hook.run_id, prompt.question, prompt.choices, prompt.allow_text, "answered", prompt.kind,
        0.0, 100.0, answer=label, choice=choice, answered_via=via,
    )  # fmt: skip


# --- which events block, and what they ask ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "agent", "run_id", "choices"),
    [
        ("claude_permission_request_suggestions", "claude", CLAUDE_RUN, (ALLOW, ALWAYS, DENY)),
        ("claude_permission_request_plain", "claude", CLAUDE_RUN, (ALLOW, DENY)),
        ("codex_permission_request", "codex", "codex:b5f6c1c2-1111-2222-3333-444455556666", (ALLOW, DENY)),
        ("gemini_before_tool", "gemini", "gemini:7c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff", (ALLOW, DENY)),
        ("claude_pre_tool_use_ask_user_question", "claude", CLAUDE_RUN, ("PostgreSQL", "SQLite", "Redis")),
    ],
)
def test_each_blocking_payload_becomes_an_ask(name, agent, run_id, choices) -> None:
    hook = shaped(name)
    assert (hook.agent, hook.run_id, hook.prompts[0].choices) == (agent, run_id, choices)
    assert len(hook.prompts[0].question) <= 1000


def test_notification_events_do_not_block() -> None:
    for name in ("claude_stop", "claude_notification_permission", "claude_pre_tool_use", "codex_agent_turn_complete"):
        assert blocking_hook(payload(name), lambda t: t, make_run_id) is None, name


def test_codex_and_claude_permission_requests_are_told_apart() -> None:
    assert is_codex(payload("codex_permission_request"))
    for name in (
        "claude_permission_request",
        "claude_permission_request_plain",
        "claude_permission_request_suggestions",
    ):
        assert not is_codex(payload(name)), name


def test_the_preview_is_redacted_and_short() -> None:
    question = shaped("claude_permission_request_suggestions").prompts[0].question
    assert "ghp_9a8b7c6d5e4f3a2b1c0d" not in question and "curl -s" in question
    codex = shaped("codex_permission_request").prompts[0].question
    assert "cio_8f7e6d5c4b3a29180716" not in codex and "cargo publish --token ***" in codex
    write = shaped("claude_permission_request_plain").prompts[0].question
    assert "sk_live" not in write and ".env" in write  # a file's content is never previewed, only its path
    long = preview({"command": "echo " + "x" * 2000}, lambda t: t)
    assert len(long) == 300 and long.endswith("…")
    assert preview({"command": "ls", "password": "hunter2hunter2"}, lambda t: t.replace("hunter2", "")) == "ls"


def test_the_callers_redactor_masks_channel_secrets() -> None:
    p = {**payload("gemini_before_tool"), "tool_input": {"command": "curl https://ntfy.sh/my-secret-topic-5f2c"}}
    hook = blocking_hook(p, lambda t: t.replace("my-secret-topic-5f2c", "***"), make_run_id)
    assert hook is not None and "my-secret-topic-5f2c" not in hook.prompts[0].question


# --- the decision JSON, exactly as documented -------------------------------------------------


def test_claude_permission_allow_deny_and_always_allow() -> None:
    hook = shaped("claude_permission_request_suggestions")
    out = "hookSpecificOutput"
    assert hook.decide([answered(hook, 0, 0)]) == {
        out: {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}
    }
    suggestions = payload("claude_permission_request_suggestions")["permission_suggestions"]
    assert hook.decide([answered(hook, 0, 1)]) == {
        out: {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow", "updatedPermissions": suggestions},
        }
    }
    denied = hook.decide([answered(hook, 0, 2)])
    assert denied is not None and denied[out]["decision"]["behavior"] == "deny"
    assert set(denied[out]["decision"]) == {"behavior", "message"} and "telegram" in denied[out]["decision"]["message"]


def test_never_an_invalid_decision() -> None:
    """No "ask", no "Always allow" without suggestions, nothing for an answer that maps to no decision."""
    plain = shaped("claude_permission_request_plain")
    assert ALWAYS not in plain.prompts[0].choices
    bogus = AskRecord("tk-1", CLAUDE_RUN, "q", ("Maybe",), False, "answered", "permission", 0, 1, "Maybe", 0)
    for name in ("claude_permission_request_plain", "codex_permission_request", "gemini_before_tool"):
        hook = shaped(name)
        assert hook.decide([bogus]) is None
        assert hook.decide([]) is None
        expired = AskRecord("tk-1", hook.run_id, "q", (ALLOW, DENY), False, "expired", "permission", 0, 1)
        assert hook.decide([expired]) is None
        for choice in (0, 1):
            text = json.dumps(hook.decide([answered(hook, 0, choice)]))
            assert '"ask"' not in text and "updatedInput" not in text


def test_codex_allows_and_denies_only() -> None:
    hook = shaped("codex_permission_request")
    assert hook.decide([answered(hook, 0, 0)]) == {
        "hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}
    }
    denied = hook.decide([answered(hook, 0, 1)])
    assert denied is not None and denied["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    assert "updatedPermissions" not in json.dumps(denied)


def test_gemini_decision_and_reason() -> None:
    hook = shaped("gemini_before_tool")
    allowed, denied = hook.decide([answered(hook, 0, 0)]), hook.decide([answered(hook, 0, 1)])
    assert allowed is not None and denied is not None
    assert (allowed["decision"], denied["decision"]) == ("allow", "deny")
    assert set(allowed) == set(denied) == {"decision", "reason"} and denied["reason"]


def test_ask_user_question_answers_echo_the_questions() -> None:
    hook = shaped("claude_pre_tool_use_ask_user_question")
    original = payload("claude_pre_tool_use_ask_user_question")["tool_input"]
    assert hook.prompts[0].allow_text  # like the dialog's "Other"
    assert hook.decide([answered(hook, 0, 1)]) == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "updatedInput": {
                "questions": original["questions"],
                "answers": {"Which database should the new orders service use?": "SQLite"},
            },
        }
    }
    typed = hook.decide([answered(hook, 0, None, text="CockroachDB")])
    assert typed is not None
    assert typed["hookSpecificOutput"]["updatedInput"]["answers"] == {
        "Which database should the new orders service use?": "CockroachDB"
    }


def test_several_questions_need_every_answer() -> None:
    hook = shaped("claude_pre_tool_use_ask_user_questions")
    assert len(hook.prompts) == 2 and "1 of 2" in hook.prompts[0].question and "several" in hook.prompts[1].question
    assert hook.decide([answered(hook, 0, 0)]) is None
    both = hook.decide([answered(hook, 0, 1), answered(hook, 1, None, text="Auth, Search")])
    assert both is not None
    assert both["hookSpecificOutput"]["updatedInput"]["answers"] == {
        "Which framework?": "Vue",
        "Which features do you want?": "Auth, Search",
    }


def test_unusable_ask_user_question_input_does_not_block() -> None:
    p = payload("claude_pre_tool_use_ask_user_question")
    for broken in ({"questions": []}, {"questions": [{"question": "q", "options": []}]}, {"nope": 1}):
        assert blocking_hook({**p, "tool_input": broken}, lambda t: t, make_run_id) is None


# --- round trips: `mcp-push hook` as the agents run it ----------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def ledger(home: Path) -> Iterator[SqliteLedger]:
    home.mkdir(parents=True, exist_ok=True)
    opened = SqliteLedger(home / "ledger.sqlite3")
    yield opened
    opened.close()


class Hook:
    """A running `mcp-push hook` with its payload on stdin."""

    def __init__(
        self, home: Path, channel_env: dict[str, str], name: str, extra: dict[str, str] | None = None, raw: str = ""
    ):
        env = server_env(home, {**channel_env, "MCP_PUSH_ASK_TIMEOUT": "60", **(extra or {})})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "hook"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw or (PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
        self.proc.stdin.close()

    def result(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.result()


@pytest.fixture
def run_hook(home: Path, fake: FakeNtfy) -> Iterator[Any]:
    started: list[Hook] = []

    def start(name: str, extra: dict[str, str] | None = None) -> Hook:
        hook = Hook(home, NTFY.env(fake.url), name, extra)
        started.append(hook)
        return hook

    yield start
    for hook in started:
        hook.kill()


def waiting_ask(ledger: SqliteLedger, hook: Hook, seen: int = 0) -> AskRecord:
    """The next ask the hook wrote (after ``seen`` earlier ones), once it waits."""

    def probe() -> AskRecord | None:
        if hook.proc.poll() is not None:
            raise AssertionError(f"the hook exited before asking: {hook.result()}")
        asks = ledger.dump_table("asks")
        if len(asks) <= seen:
            return None
        return ledger.get_ask(asks[seen]["ticket"])

    return wait_until(probe, timeout=30, what="the hook's ask in the ledger")


def answer(ledger: SqliteLedger, ask: AskRecord, label: str | None = None, text: str | None = None) -> None:
    choice = ask.choices.index(label) if label is not None else None
    result = apply_answer(ledger, ask.ticket, via="telegram", by="123456789", now=time.time(), choice=choice, text=text)
    assert result.outcome == ACCEPTED, result.message


@pytest.mark.parametrize(
    ("name", "label", "expected"),
    [
        (
            "claude_permission_request_suggestions",
            ALWAYS,
            {
                "hookSpecificOutput": {
                    "hookEventName": "PermissionRequest",
                    "decision": {
                        "behavior": "allow",
                        "updatedPermissions": [
                            {
                                "type": "addRules",
                                "rules": [{"toolName": "Bash", "ruleContent": "curl -s:*"}],
                                "behavior": "allow",
                                "destination": "localSettings",
                            }
                        ],
                    },
                }
            },
        ),
        (
            "claude_permission_request_plain",
            ALLOW,
            {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}},
        ),
        (
            "codex_permission_request",
            DENY,
            {
                "hookSpecificOutput": {
                    "hookEventName": "PermissionRequest",
                    "decision": {"behavior": "deny", "message": "The person denied this on telegram (mcp-push)."},
                }
            },
        ),
        ("gemini_before_tool", DENY, {"decision": "deny", "reason": "The person denied this on telegram (mcp-push)."}),
        (
            "claude_pre_tool_use_ask_user_question",
            "Redis",
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "allow",
                    "updatedInput": {
                        **payload("claude_pre_tool_use_ask_user_question")["tool_input"],
                        "answers": {"Which database should the new orders service use?": "Redis"},
                    },
                }
            },
        ),
    ],
)
def test_answered_on_the_phone_prints_the_decision(run_hook, ledger, fake, name, label, expected) -> None:
    hook = run_hook(name)
    ask = waiting_ask(ledger, hook)
    assert ask.status == "waiting" and label in ask.choices
    (ticket,) = ledger.dump_table("tickets")
    assert ticket["title"].startswith("❓" if "ask_user" in name else "🔐") and ticket["event"] == "ask"
    fake.wait_message(1, timeout=30)  # the question reached the phone first
    answer(ledger, ask, label)
    code, out, err = hook.result()
    assert code == 0, err
    assert json.loads(out) == expected
    assert out.count("\n") == 1  # one JSON document, nothing else on stdout
    assert fake.problems == []


def test_the_pushed_question_carries_no_secret_from_the_tool_input(run_hook, ledger, fake) -> None:
    hook = run_hook("claude_permission_request_suggestions")
    ask = waiting_ask(ledger, hook)
    published = json.dumps(fake.wait_message(1, timeout=30))  # what the phone shows (the listener polls too)
    assert "ghp_9a8b7c6d5e4f3a2b1c0d" not in published and "curl -s" in published
    assert "ghp_" not in ask.question and "List the CI runs" in ask.question
    answer(ledger, ask, DENY)
    assert hook.result()[0] == 0


def test_two_questions_are_asked_one_after_the_other(run_hook, ledger, fake) -> None:
    hook = run_hook("claude_pre_tool_use_ask_user_questions")
    first = waiting_ask(ledger, hook)
    answer(ledger, first, "React")
    second = waiting_ask(ledger, hook, seen=1)
    assert second.choices == ("Auth", "Billing", "Search") and second.allow_text
    answer(ledger, second, text="Billing, Search")
    code, out, err = hook.result()
    assert code == 0, err
    answers = json.loads(out)["hookSpecificOutput"]["updatedInput"]["answers"]
    assert answers == {"Which framework?": "React", "Which features do you want?": "Billing, Search"}


def test_timeout_prints_nothing_and_ends_the_ask(run_hook, ledger, fake) -> None:
    hook = run_hook("claude_permission_request_plain", {"MCP_PUSH_ASK_TIMEOUT": "2"})
    ask = waiting_ask(ledger, hook)
    code, out, err = hook.result()
    assert (code, out) == (0, ""), err
    final = ledger.get_ask(ask.ticket)
    assert final is not None and final.status == "expired"  # buttons pressed now are told it ended
    late = apply_answer(ledger, ask.ticket, via="telegram", by="1", now=time.time(), choice=0)
    assert late.outcome != ACCEPTED


def test_cancelled_ask_prints_nothing(run_hook, ledger, fake) -> None:
    hook = run_hook("gemini_before_tool")
    ask = waiting_ask(ledger, hook)
    assert ledger.end_ask(ask.ticket, "cancelled", time.time())
    code, out, err = hook.result()
    assert (code, out) == (0, ""), err


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_answered_in_the_terminal_the_agent_kills_the_hook(run_hook, ledger, fake, number) -> None:
    hook = run_hook("claude_permission_request_suggestions")
    ask = waiting_ask(ledger, hook)
    hook.proc.send_signal(number)
    code, out, err = hook.result()
    assert (code, out) == (0, ""), err
    final = ledger.get_ask(ask.ticket)
    assert final is not None and final.status == "cancelled"  # the phone's buttons now say so


def test_two_answers_the_first_wins(run_hook, ledger, fake, home) -> None:
    hook = run_hook("codex_permission_request")
    ask = waiting_ask(ledger, hook)
    key = AnswerKey.load(home)
    first = apply_token(ledger, key, key.sign(ask.ticket, "1"), via="ntfy", by="ntfy", now=time.time())
    second = apply_answer(ledger, ask.ticket, via="telegram", by="123", now=time.time(), choice=0)
    replay = apply_token(ledger, key, key.sign(ask.ticket, "1"), via="ntfy", by="ntfy", now=time.time())
    assert (first.outcome, second.outcome, replay.outcome) == (ACCEPTED, ALREADY, ALREADY)
    code, out, err = hook.result()
    assert code == 0, err
    assert json.loads(out)["hookSpecificOutput"]["decision"]["behavior"] == "deny"


def test_no_channel_prints_nothing_and_says_why(home, ledger) -> None:
    env = server_env(home, {"MCP_PUSH_ASK_TIMEOUT": "30"})
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "hook"],
        input=(PAYLOADS / "claude_permission_request_plain.json").read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "")
    assert "no channel is configured" in done.stderr and "Traceback" not in done.stderr


def test_waiting_off_pushes_the_old_notice(home, ledger, fake) -> None:
    """MCP_PUSH_ASK_TIMEOUT=0: PermissionRequest is the "needs approval" notification, and nothing waits."""
    env = server_env(home, {**NTFY.env(fake.url), "MCP_PUSH_ASK_TIMEOUT": "0"})
    for name in ("claude_permission_request_plain", "gemini_before_tool"):
        done = subprocess.run(
            [sys.executable, "-m", "mcp_push", "hook"],
            input=(PAYLOADS / f"{name}.json").read_text(encoding="utf-8"),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert (done.returncode, done.stdout) == (0, ""), done.stderr
    (ticket,) = ledger.dump_table("tickets")
    assert ticket["title"] == "🔐 Needs approval · shop-api" and ledger.dump_table("asks") == []


# --- the whole way: the worker delivers the buttons, the phone presses, the listener answers -------


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


def test_pressed_on_telegram_the_hook_allows_always(home, ledger, telegram) -> None:
    hook = Hook(home, TELEGRAM.env(telegram.url), "claude_permission_request_suggestions")
    try:
        message = telegram.wait_message(1, timeout=30)
        assert [b["text"] for b in telegram.buttons(message)] == [ALLOW, ALWAYS, DENY]
        telegram.press(message, ALWAYS, from_id=987654321)  # someone else in the chat: ignored
        ask = waiting_ask(ledger, hook)
        query = telegram.press(message, ALWAYS)
        code, out, err = hook.result()
        assert code == 0, err
        decision = json.loads(out)["hookSpecificOutput"]["decision"]
        suggestions = payload("claude_permission_request_suggestions")["permission_suggestions"]
        assert decision == {"behavior": "allow", "updatedPermissions": suggestions}
        final = ledger.get_ask(ask.ticket)
        assert final is not None and (final.answered_via, final.answered_by) == ("telegram", TELEGRAM_CHAT)
        telegram.wait_callback_answer(query, timeout=30)  # the button's spinner stops
        assert ALWAYS in telegram.wait_edit(message, timeout=30)["text"]  # and the message says what won
        assert telegram.problems == []
    finally:
        hook.kill()


def test_pressed_in_the_ntfy_app_the_hook_denies(home, ledger, fake) -> None:
    hook = Hook(home, NTFY.env(fake.url), "gemini_before_tool")
    try:
        message = fake.wait_message(1, timeout=30)
        assert [a["label"] for a in message["actions"]] == [ALLOW, DENY]
        assert "git push --force" in message["message"]
        assert fake.press(message["id"], DENY) == 200
        code, out, err = hook.result()
        assert code == 0, err
        assert json.loads(out) == {"decision": "deny", "reason": "The person denied this on ntfy (mcp-push)."}
        assert fake.problems == []
    finally:
        hook.kill()


def test_channel_secrets_in_a_tool_input_are_masked(make_settings) -> None:
    """blocking_for redacts with every configured channel's secrets, not only the patterns."""
    from mcp_push.hooks import blocking_for
    from tests.fakes.ntfy import TOKEN, TOPIC

    settings = make_settings(NTFY.env("http://127.0.0.1:9"))
    command = f"curl -d hi https://ntfy.example/{TOPIC} # {TOKEN}"
    p = {**payload("gemini_before_tool"), "tool_input": {"command": command}}
    hook = blocking_for(settings, p)
    assert hook is not None
    question = hook.prompts[0].question
    assert TOPIC not in question and TOKEN not in question and "curl -d hi" in question


@pytest.mark.slow
def test_answered_in_words_on_the_answer_page(home, ledger, fake) -> None:
    """AskUserQuestion with a free-text answer, through the link of `mcp-push dashboard` (the ntfy
    notification's "Answer page" button): GET shows the question, the POST answers it."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    public = {"MCP_PUSH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env = server_env(home, {**NTFY.env(fake.url), **public})
    page = subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    body = payload("claude_pre_tool_use_ask_user_questions")
    body["tool_input"]["questions"] = body["tool_input"]["questions"][:1]  # two options and the page: 3 buttons
    hook = Hook(home, NTFY.env(fake.url), "", public, raw=json.dumps(body))
    try:
        message = fake.wait_message(1, timeout=30)
        (view,) = [a for a in message["actions"] if a["action"] == "view"]
        link = view["url"]
        assert link.startswith(f"http://127.0.0.1:{port}/answer/")

        def shown() -> httpx.Response | None:
            try:
                return httpx.get(link, timeout=5)
            except httpx.TransportError:
                assert page.poll() is None, page.stderr.read().decode() if page.stderr else ""
                return None

        got = wait_until(shown, timeout=30, what="the answer page")
        assert got.status_code == 200 and "Which framework?" in got.text and "<textarea" in got.text
        assert waiting_ask(ledger, hook).status == "waiting"  # opening the link answered nothing
        origin = f"http://127.0.0.1:{port}"
        done = httpx.post(link, data={"text": "Svelte"}, headers={"Origin": origin}, timeout=10)
        assert done.status_code == 200 and "Answered: Svelte" in done.text
        code, out, err = hook.result()
        assert code == 0, err
        answers = json.loads(out)["hookSpecificOutput"]["updatedInput"]["answers"]
        assert answers == {"Which framework?": "Svelte"}
        assert fake.problems == []
    finally:
        hook.kill()
        page.terminate()
        page.communicate(timeout=15)
