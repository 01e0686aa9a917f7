"""A real ``mcp-push worker`` process listening for Telegram answers, killed with SIGKILL mid-answer:
after a restart exactly one answer is applied, and the update Telegram hands out again is a replay.

Two moments: the update was read and its answer written, but the offset not yet committed (the
fake holds the worker's answerCallbackQuery, which comes between the two); and the update was
picked by getUpdates but never reached the worker (the fake holds the response). A second ask
waits meanwhile, so the restarted worker polls (a listener polls only while asks wait).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.channels.base import short_hash
from tests.asking.two_way import Home, open_home
from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env

CURSOR = f"telegram:{short_hash(TOKEN)}:offset"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def start_worker(home: Home, telegram: FakeTelegram, log: Path) -> subprocess.Popen[bytes]:
    env = server_env(home.settings.home, {**TELEGRAM.env(telegram.url), "MCP_PUSH_LOG": "debug"})
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "worker", "--workers", "1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.mark.parametrize("moment", ["answer written, offset not committed", "update picked, never received"])
def test_a_listener_killed_mid_answer_applies_exactly_one_answer(
    tmp_path: Path, telegram: FakeTelegram, moment: str
) -> None:
    log = tmp_path / "worker.log"
    with open_home(tmp_path, telegram=telegram) as home:
        ticket = home.send_ask()
        message = telegram.wait_message()
        held = telegram.hold("answerCallbackQuery" if moment.startswith("answer") else "getUpdates")
        worker = start_worker(home, telegram, log)
        try:
            wait_until(lambda: telegram.polls, timeout=30, what="the worker polling")
            telegram.press(message, "Allow")
            wait_until(lambda: telegram.held, timeout=30, what="the worker's request held at the fake")
            if moment.startswith("answer"):
                assert home.ask(ticket).status == "answered"  # written before the press is acknowledged
            else:
                assert home.ask(ticket).status == "waiting"  # the update never reached the worker
            offset_before = home.ledger.cursor_get(CURSOR)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            assert home.ledger.cursor_get(CURSOR) == offset_before  # the killed worker committed nothing
            first = home.ask(ticket)
            second = home.send_ask("Deploy?", ("Deploy", "Wait"))  # so that the restarted worker polls
            worker = start_worker(home, telegram, log)
            (update,) = telegram.issued
            wait_until(
                lambda: home.ledger.cursor_get(CURSOR) == str(update["update_id"] + 1),
                timeout=60,  # the killed worker's lease runs out first (LEASE_SECONDS)
                what="the update read again and its offset committed",
            )
            assert [u["update_id"] for u in telegram.handed_out] == [update["update_id"]] * 2  # handed out twice
            ask = home.wait_status(ticket, "answered")
            assert (ask.answer, ask.answered_via) == ("Allow", "telegram")
            if moment.startswith("answer"):
                assert ask.answered_at == first.answered_at  # the replay wrote nothing
                (toast,) = telegram.callback_answers.values()
                assert toast["text"] == "Already answered: Allow via telegram."  # the replay's answer
            else:
                (toast,) = telegram.callback_answers.values()
                assert toast["text"] == "Answered: Allow."
            query = telegram.press(telegram.wait_message(2), "Wait")
            assert telegram.wait_callback_answer(query, timeout=30) == "Answered: Wait."
            assert home.wait_status(second, "answered").answer == "Wait"
            assert home.ask(ticket).answered_at == ask.answered_at  # still the one answer
        finally:
            held.set()
            stop(worker)
    logged = log.read_text()
    assert "answered on Telegram" in logged  # the log was written (at debug level)
    assert ("a late answer to ask" in logged) == moment.startswith("answer")  # the replay, seen as one
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert telegram.problems == []
