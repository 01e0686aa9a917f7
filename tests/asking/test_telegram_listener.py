"""Telegram answers: buttons pressed on the (fake) phone reach the ask through getUpdates; only
TG_USER_ID counts; every press is answered; the message is edited to show the end; the offset
is a ledger cursor; another poller's 409 makes the listener back off."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcp_push.asking import listeners as listeners_module
from mcp_push.asking import telegram_listener
from mcp_push.channels.base import short_hash
from mcp_push.channels.telegram import REPLY_HINT
from tests.asking.two_way import Home, ledger_url, open_home
from tests.fakes.telegram import CHAT, STRANGER, TOKEN, FakeTelegram
from tests.helpers import wait_until

CURSOR = f"telegram:{short_hash(TOKEN)}:offset"


@pytest.fixture(autouse=True)
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long polls of 1 s and a 1 s conflict pause, so stopping a listener takes a second, not ten."""
    monkeypatch.setattr(telegram_listener, "POLL_SECONDS", 1)
    monkeypatch.setattr(telegram_listener, "CONFLICT_SECONDS", 1.0)


@pytest.fixture
def home(tmp_path: Path, telegram: FakeTelegram) -> Iterator[Home]:
    with open_home(tmp_path, telegram=telegram) as h:
        yield h


@pytest.fixture(params=["sqlite", "postgres"])
def any_home(request: pytest.FixtureRequest, tmp_path: Path, telegram: FakeTelegram) -> Iterator[Home]:
    """The home on either ledger backend (leases and cursors live there)."""
    with ledger_url(request.param) as url, open_home(tmp_path, telegram=telegram, db_url=url) as h:
        yield h


def test_a_pressed_button_answers_the_ask_the_press_and_edits_the_message(
    any_home: Home, telegram: FakeTelegram
) -> None:
    home = any_home
    ticket = home.send_ask(choices=("Allow", "Deny", "Always allow"))
    message = telegram.wait_message()
    buttons = telegram.buttons(message)
    assert [b["text"] for b in buttons] == ["Allow", "Deny", "Always allow"]
    assert all(len(b["callback_data"].encode()) <= 64 and ticket in b["callback_data"] for b in buttons)
    home.listen()
    query = telegram.press(message, "Deny")
    assert telegram.wait_callback_answer(query) == "Answered: Deny."
    ask = home.wait_status(ticket, "answered")
    assert (ask.answer, ask.choice, ask.answered_via, ask.answered_by) == ("Deny", 1, "telegram", CHAT)
    edit = telegram.wait_edit(message)
    assert edit["text"].endswith("✅ Answered: Deny (via telegram)") and edit["reply_markup"] is None
    assert telegram.buttons(message) == []
    home.wait_closed(ticket)
    (update,) = telegram.issued
    update_id = update["update_id"]
    # committed once the answer is applied (the poller writes it; the closer's edit may come first)
    wait_until(lambda: home.ledger.cursor_get(CURSOR) == str(update_id + 1), what="the committed offset")
    assert telegram.problems == []


def test_a_stranger_is_answered_but_not_heard(home: Home, telegram: FakeTelegram, caplog) -> None:
    caplog.set_level(logging.WARNING)
    ticket = home.send_ask()
    message = telegram.wait_message()
    home.listen()
    query = telegram.press(message, "Allow", from_id=STRANGER)
    assert telegram.wait_callback_answer(query) == telegram_listener.STRANGER_TEXT
    telegram.reply(message, "Allow", from_id=STRANGER)
    wait_until(lambda: telegram.pending_updates() == [] or home.ledger.cursor_get(CURSOR), what="both read")
    wait_until(lambda: "ignored a reply from user" in caplog.text, what="the stranger's reply logged")
    assert home.ask(ticket).status == "waiting"
    assert f"user {STRANGER}" in caplog.text and TOKEN not in caplog.text
    owner = telegram.press(message, "Allow")
    assert telegram.wait_callback_answer(owner) == "Answered: Allow."
    assert home.wait_status(ticket, "answered").answered_by == CHAT
    assert telegram.problems == []


def test_a_replayed_button_is_told_already_answered(home: Home, telegram: FakeTelegram) -> None:
    ticket = home.send_ask()
    message = telegram.wait_message()
    token = {b["text"]: b["callback_data"] for b in telegram.buttons(message)}
    home.listen()
    first = telegram.press(message, "Allow")
    assert telegram.wait_callback_answer(first) == "Answered: Allow."
    home.wait_status(ticket, "answered")
    telegram.wait_edit(message)
    answered = home.wait_closed(ticket)
    for data in (token["Allow"], token["Deny"]):  # the same button again, and the other one (an old client)
        again = telegram.press(message, "", data=data)
        assert telegram.wait_callback_answer(again) == "Already answered: Allow via telegram."
    assert home.ask(ticket) == answered  # untouched
    forged = telegram.press(message, "", data=token["Deny"][:-2] + "xx")
    assert "not valid" in telegram.wait_callback_answer(forged)
    assert home.ask(ticket) == answered
    assert telegram.problems == []


def test_a_reply_answers_a_free_text_ask(home: Home, telegram: FakeTelegram) -> None:
    ticket = home.send_ask("Which database?", choices=(), allow_text=True)
    message = telegram.wait_message()
    sent = telegram.messages[message]
    assert sent["reply_markup"] == {"force_reply": True, "input_field_placeholder": "Your answer"}
    assert sent["text"].endswith(REPLY_HINT)
    home.listen()
    telegram.reply(message, "the staging one, please")
    ask = home.wait_status(ticket, "answered")
    assert (ask.answer, ask.choice, ask.answered_via) == ("the staging one, please", None, "telegram")
    confirm = telegram.wait_message(2)
    assert telegram.messages[confirm]["text"] == "Answered: the staging one, please."
    assert telegram.wait_edit(message)["text"].endswith("✅ Answered: the staging one, please (via telegram)")
    assert telegram.problems == []


def test_a_reply_with_a_choice_label_answers_a_choice_ask(home: Home, telegram: FakeTelegram) -> None:
    ticket = home.send_ask()
    message = telegram.wait_message()
    home.listen()
    telegram.reply(message, "deny")
    assert home.wait_status(ticket, "answered").choice == 1
    assert telegram.problems == []


def test_a_second_poller_elsewhere_gets_409_and_the_listener_backs_off(
    home: Home, telegram: FakeTelegram, caplog
) -> None:
    """Another bot instance (not on this ledger) long-polls the same bot: each getUpdates ends the one
    held before it with 409. The listener waits CONFLICT_SECONDS after one, and still answers."""
    caplog.set_level(logging.WARNING)
    ticket = home.send_ask()
    message = telegram.wait_message()
    rogue_done = threading.Event()

    def rogue() -> None:
        with httpx.Client(timeout=10) as client:
            while not rogue_done.is_set():
                client.post(f"{telegram.url}/bot{TOKEN}/getUpdates", json={"timeout": 1, "limit": 1})

    thread = threading.Thread(target=rogue, daemon=True)
    thread.start()
    try:
        home.listen()
        wait_until(lambda: ours(telegram.conflicts), what="a 409 for the listener's own getUpdates")
        wait_until(lambda: "another program polls this bot (409 Conflict)" in caplog.text, what="the conflict logged")
        conflict = ours(telegram.conflicts)[0]
        later = wait_until(lambda: [p for p in ours(telegram.polls) if p.at > conflict.at], what="a poll after the 409")
        assert later[0].at - conflict.at >= telegram_listener.CONFLICT_SECONDS * 0.9  # backed off, did not hammer
    finally:
        rogue_done.set()
        thread.join(15)
    query = telegram.press(message, "Allow")
    assert telegram.wait_callback_answer(query) == "Answered: Allow."
    assert home.wait_status(ticket, "answered").answer == "Allow"
    assert telegram.problems == []


def ours(requests: list) -> list:
    """getUpdates requests of mcp-push's listener (it names the updates it wants; the rogue does not)."""
    return [r for r in requests if "allowed_updates" in json.loads(r.body or b"{}")]


def test_two_workers_on_one_ledger_poll_one_at_a_time(any_home: Home, telegram: FakeTelegram) -> None:
    home = any_home
    ticket = home.send_ask()
    message = telegram.wait_message()
    home.listen("worker-a")
    home.listen("worker-b")
    wait_until(lambda: len(telegram.polls) >= 4, what="a few polls")
    assert telegram.conflicts == []  # never two getUpdates at once: the lease holds the second back
    query = telegram.press(message, "Deny")
    assert telegram.wait_callback_answer(query) == "Answered: Deny."
    assert home.wait_status(ticket, "answered").answer == "Deny"
    assert len(telegram.callback_answers) == 1
    assert telegram.problems == []


def test_the_offset_survives_a_restart(any_home: Home, telegram: FakeTelegram) -> None:
    home = any_home
    first = home.send_ask()
    message = telegram.wait_message()
    listeners = home.listen("worker-a")
    telegram.wait_callback_answer(telegram.press(message, "Allow"))
    home.wait_status(first, "answered")
    wait_until(lambda: home.ledger.cursor_get(CURSOR), what="the offset committed")
    listeners.stop(15)
    offset = int(home.ledger.cursor_get(CURSOR) or 0)
    polls_before = len(telegram.polls)
    second = home.send_ask("Deploy?", ("Deploy", "Wait"))
    message2 = telegram.wait_message(2)
    home.listen("worker-b")  # a new process: it starts from the ledger's cursor, not from zero
    telegram.wait_callback_answer(telegram.press(message2, "Wait"))
    assert home.wait_status(second, "answered").answer == "Wait"
    first_poll = telegram.polls[polls_before]
    assert json.loads(first_poll.body)["offset"] == offset
    assert home.ask(first).answer == "Allow"
    assert telegram.problems == []


def test_an_expired_ask_has_its_message_edited(home: Home, telegram: FakeTelegram) -> None:
    ticket = home.send_ask(expires=1.0)
    message = telegram.wait_message()
    home.listen()
    home.wait_status(ticket, "expired")
    assert telegram.wait_edit(message)["text"].endswith("⌛ Expired: no answer in time")
    home.wait_closed(ticket)
    assert telegram.problems == []


def test_a_link_button_goes_to_the_answer_page_and_a_refused_url_falls_back_to_text(
    home: Home, telegram: FakeTelegram
) -> None:
    home.send_ask(link="https://mcp-push.example.net/answer/tk-x.a.sig")
    first = telegram.wait_message()
    assert telegram.buttons(first)[-1] == {
        "text": "🌐 Open the answer page",
        "url": "https://mcp-push.example.net/answer/tk-x.a.sig",
    }
    home.send_ask(link="http://localhost:8765/answer/tk-y.a.sig")  # Telegram refuses localhost URL buttons
    second = telegram.wait_message(2)
    assert [b["text"] for b in telegram.buttons(second)] == ["Allow", "Deny"]
    assert "Answer page: http://localhost:8765/answer/tk-y.a.sig" in telegram.messages[second]["text"]
    assert len(telegram.problems) == 1 and "invalid" in telegram.problems[0]  # the refused first try, no more


def test_listeners_do_not_poll_while_no_ask_waits(home: Home, telegram: FakeTelegram) -> None:
    listeners = home.listen()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # a window in which a poller would have polled several times
        assert telegram.polls == []
        listeners.ctx.stopped.wait(0.1)
    assert listeners_module.asks_open(home.ledger, time.time()) is False


def test_an_unreachable_telegram_is_retried_with_backoff_and_the_token_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcp_push")  # the URL loggers stay at WARNING, as the CLI sets them
    fake = FakeTelegram().start()
    with open_home(tmp_path, telegram=fake) as home:
        ticket = home.send_ask()
        fake.stop()  # Telegram is gone: every new connection is refused
        home.clients.close()  # (no kept-alive connection to the stopped fake)
        listeners = home.listen()
        wait_until(lambda: caplog.text.count("could not reach Telegram") >= 2, what="two failed polls")
        waits = [float(w) for w in re.findall(r"could not reach Telegram.*trying again in (\d+)s", caplog.text)]
        assert waits[:2] == [1.0, 2.0]  # backing off, doubling
        assert home.ask(ticket).status == "waiting"
        listeners.stop(15)
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
