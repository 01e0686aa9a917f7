"""The whole way through real processes: ``mcp-push ask --wait`` (a producer) starts the drain worker,
which sends the question with buttons, stays while the ask waits, applies the press from the phone,
edits the messages and only then exits; the waiting CLI prints the answer. Plus the embedded
worker of a process (Worker + Notifier) answering over Telegram and ntfy at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_push.asking import telegram_listener
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.asking.two_way import two_way_env
from tests.conftest import _processes_under, settings_for
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env


def test_the_drain_worker_stays_while_the_ask_waits_and_the_cli_gets_the_answer(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    home = tmp_path / "home"
    env = server_env(home, two_way_env(home, telegram, None))
    asking = subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "ask", "Deploy to prod?", "--choice", "Deploy", "--choice", "Wait",
         "--wait", "60", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        message = telegram.wait_message(timeout=30)  # sent by the drainer the CLI started
        assert [b["text"] for b in telegram.buttons(message)] == ["Deploy", "Wait"]
        drainers = wait_until(lambda: _processes_under(tmp_path), what="the drain worker")
        query = telegram.press(message, "Wait")  # answered by the drainer: it stayed after sending
        assert telegram.wait_callback_answer(query, timeout=30) == "Answered: Wait."
        out, err = asking.communicate(timeout=60)
    finally:
        if asking.poll() is None:
            asking.kill()
    assert asking.returncode == 0, err
    assert json.loads(out)["answer"] == "Wait"
    assert telegram.wait_edit(message)["text"].endswith("✅ Answered: Wait (via telegram)")
    wait_until(lambda: not set(drainers) & set(_processes_under(tmp_path)), timeout=30, what="the drainer to exit")
    drain_log = (home / "drain.log").read_text()
    assert TOKEN not in drain_log and TOKEN.split(":")[1] not in drain_log
    assert telegram.problems == []


def test_an_embedded_worker_answers_over_telegram_and_ntfy(
    tmp_path: Path, telegram: FakeTelegram, ntfy: FakeNtfy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_listener, "POLL_SECONDS", 1)
    home = tmp_path / "home"
    runtime = Runtime.open(settings_for(home, two_way_env(home, telegram, ntfy)))
    worker = Worker(runtime, 2)
    worker.start()
    try:
        receipt = Notifier(runtime).ask("Ship it?", choices=["Ship", "Hold"], timeout_seconds=60)
        assert sorted(receipt.channels) == ["ntfy", "telegram"]
        message, sent = telegram.wait_message(), ntfy.wait_message()
        assert [a["label"] for a in sent["actions"]] == ["Ship", "Hold"]
        ntfy.press(sent["id"], "Hold")
        answer = Notifier(runtime).wait(receipt.ticket, 30)
        assert (answer.status, answer.answer) == ("answered", "Hold")
        assert ntfy.wait_update(sent["id"])["message"].endswith("✅ Answered: Hold (via ntfy)")
        assert telegram.wait_edit(message)["text"].endswith("✅ Answered: Hold (via ntfy)")
        late = telegram.press(message, "", data=f"{receipt.ticket}.0.AAAAAAAAAAAAAAAAAAAAAA")
        assert "not valid" in telegram.wait_callback_answer(late)  # a forged press, while the listener lingers
    finally:
        worker.stop(5)
        runtime.close()
    assert telegram.problems == [] and ntfy.problems == []
