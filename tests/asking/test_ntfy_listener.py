"""ntfy answers: the http action buttons post the token to the reply topic; the listener polls the
topic's cache (poll=1&since=<last id>) and answers the ask; the notification is updated (same
sequence id) once the ask ended; the last id is a ledger cursor. And an ask sent to Telegram and
ntfy at once: the first answer wins, the other is told "already answered"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.asking import telegram_listener
from mcp_push.channels.base import AskPrompt, Message, short_hash
from mcp_push.channels.ntfy import Ntfy
from tests.asking.two_way import Home, ledger_url, open_home
from tests.fakes.ntfy import PASSWORD, TOKEN, USERNAME, FakeNtfy, parse_actions
from tests.fakes.telegram import FakeTelegram
from tests.helpers import wait_until


@pytest.fixture(autouse=True)
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_listener, "POLL_SECONDS", 1)


@pytest.fixture
def home(tmp_path: Path, ntfy: FakeNtfy) -> Iterator[Home]:
    with open_home(tmp_path, ntfy=ntfy) as h:
        yield h


def channel(home: Home) -> Ntfy:
    return Ntfy(home.settings.env, clients=home.clients)


def cursor(home: Home) -> str:
    ntfy = channel(home)
    return f"ntfy:{short_hash(f'{ntfy.base}/{ntfy.reply_topic()}')}:last-id"


def test_an_action_press_answers_the_ask_and_the_notification_is_updated(home: Home, ntfy: FakeNtfy) -> None:
    ticket = home.send_ask(choices=("Allow", "Deny", "Always allow"))
    sent = ntfy.wait_message()
    reply_topic = channel(home).reply_topic()
    assert reply_topic.startswith("mcp-push-reply-") and reply_topic in ntfy.reply_topics
    actions = sent["actions"]
    assert [(a["action"], a["label"]) for a in actions] == [
        ("http", "Allow"),
        ("http", "Deny"),
        ("http", "Always allow"),
    ]
    assert all(a["url"] == f"{ntfy.url}/{reply_topic}" and a["method"] == "POST" for a in actions)
    assert all(a["body"].startswith(f"{ticket}.") and a["clear"] == "true" for a in actions)
    home.listen()
    assert ntfy.press(sent["id"], "Always allow") == 200
    ask = home.wait_status(ticket, "answered")
    assert (ask.answer, ask.choice, ask.answered_via) == ("Always allow", 2, "ntfy")
    update = ntfy.wait_update(sent["id"])
    assert update["message"].endswith("✅ Answered: Always allow (via ntfy)") and "actions" not in update
    assert update["priority"] == 2
    home.wait_closed(ticket)
    (reply,) = ntfy.notifications(reply_topic)
    assert home.ledger.cursor_get(cursor(home)) == reply["id"]
    first_poll = ntfy.polls[0]
    assert first_poll.param("poll") == "1" and first_poll.param("since").isdigit()  # before the ask was made
    assert first_poll.headers["authorization"] == f"Bearer {TOKEN}"
    assert ntfy.problems == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_last_id_survives_a_restart_and_a_replay_leaves_the_ask_alone(
    tmp_path: Path, ntfy: FakeNtfy, backend: str
) -> None:
    with ledger_url(backend) as url, open_home(tmp_path, ntfy=ntfy, db_url=url) as home:
        _last_id_survives(home, ntfy)


def _last_id_survives(home: Home, ntfy: FakeNtfy) -> None:
    first = home.send_ask()
    sent = ntfy.wait_message()
    listeners = home.listen("worker-a")
    ntfy.press(sent["id"], "Allow")
    answered = home.wait_status(first, "answered")
    wait_until(lambda: home.ledger.cursor_get(cursor(home)), what="the last id committed")
    home.wait_closed(first)
    listeners.stop(15)
    last_id = home.ledger.cursor_get(cursor(home))
    polls_before = len(ntfy.polls)
    ntfy.press(sent["id"], "Deny")  # a second tap on the old notification, while no listener runs
    second = home.send_ask("Deploy?", ("Deploy", "Wait"))
    sent2 = ntfy.wait_message(3)  # the first ask's update was message 2
    home.listen("worker-b")
    ntfy.press(sent2["id"], "Wait")
    assert home.wait_status(second, "answered").answer == "Wait"
    assert ntfy.polls[polls_before].param("since") == last_id  # from the cursor, not from the start
    assert home.ask(first).answer == answered.answer == "Allow"  # the late "Deny" was told already answered
    assert ntfy.problems == []


def test_more_choices_than_ntfy_shows_go_through_the_answer_page(home: Home, ntfy: FakeNtfy) -> None:
    home.send_ask(choices=("A", "B", "C", "D"), link="https://mcp-push.example.net/answer/tk-z.a.sig")
    sent = ntfy.wait_message()
    assert [(a["action"], a["label"]) for a in sent["actions"]] == [("http", "A"), ("http", "B"), ("view", "More…")]
    assert sent["actions"][2]["url"] == "https://mcp-push.example.net/answer/tk-z.a.sig"
    home.send_ask(choices=("A", "B", "C", "D"))
    assert [a["label"] for a in ntfy.wait_message(2)["actions"]] == ["A", "B", "C"]
    assert ntfy.wait_message(2)["message"].endswith("The other choices: answer on another channel or in the terminal.")
    assert ntfy.problems == []


def test_labels_with_separators_and_non_ascii_survive_the_actions_header(home: Home, ntfy: FakeNtfy) -> None:
    home.send_ask(choices=("Yes, deploy; now", "允许 ✅"))
    assert [a["label"] for a in ntfy.wait_message()["actions"]] == ["Yes, deploy; now", "允许 ✅"]
    assert ntfy.problems == []


def test_no_credential_travels_in_the_actions(home: Home, ntfy: FakeNtfy) -> None:
    env = {k: v for k, v in home.settings.env.items() if k != "NTFY_TOKEN"}
    basic = Ntfy({**env, "NTFY_USERNAME": USERNAME, "NTFY_PASSWORD": PASSWORD}, clients=home.clients)
    request = basic.request(Message("❓ Go?", "Go?", ask=AskPrompt(("Go",), (home.key.sign("tk-basic", "0"),))))
    (action,) = parse_actions(request.headers["Actions"])
    assert request.headers["Authorization"].startswith("Basic ")  # the publish itself is authenticated
    assert "headers" not in action and USERNAME not in request.headers["Actions"]
    assert TOKEN not in request.headers["Actions"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_answered_on_telegram_and_ntfy_at_once_the_first_wins(tmp_path: Path, ntfy: FakeNtfy, backend: str) -> None:
    telegram = FakeTelegram().start()
    try:
        with ledger_url(backend) as url, open_home(tmp_path, telegram=telegram, ntfy=ntfy, db_url=url) as home:
            ticket = home.send_ask(channels=("telegram", "ntfy"))
            message, sent = telegram.wait_message(), ntfy.wait_message()
            home.listen()
            wait_until(lambda: ntfy.polls and telegram.polls, what="both listeners reading")
            query = telegram.press(message, "Deny")
            assert telegram.wait_callback_answer(query) == "Answered: Deny."
            ntfy.press(sent["id"], "Allow")
            reply_topic = channel(home).reply_topic()
            wait_until(
                lambda: home.ledger.cursor_get(cursor(home)) == ntfy.notifications(reply_topic)[-1]["id"],
                what="the ntfy answer read",
            )
            ask = home.wait_closed(ticket)
            assert (ask.answer, ask.answered_via) == ("Deny", "telegram")  # the later ntfy "Allow" changed nothing
            assert telegram.wait_edit(message)["text"].endswith("✅ Answered: Deny (via telegram)")
            assert ntfy.wait_update(sent["id"])["message"].endswith("✅ Answered: Deny (via telegram)")
            assert telegram.problems == [] and ntfy.problems == []
    finally:
        telegram.stop()


def test_ntfy_reply_topic_names_the_reply_topic_and_is_masked(home: Home) -> None:
    env = {**home.settings.env, "NTFY_REPLY_TOPIC": "my-agent-replies-9d3e"}
    chosen = Ntfy(env, clients=home.clients)
    request = chosen.request(Message("❓ Go?", "Go?", ask=AskPrompt(("Go",), (home.key.sign("tk-chosen", "0"),))))
    (action,) = parse_actions(request.headers["Actions"])
    assert action["url"] == f"{chosen.base}/my-agent-replies-9d3e"
    assert chosen.redact(f"GET {chosen.base}/my-agent-replies-9d3e/json") == f"GET {chosen.base}/***/json"
    derived = channel(home)
    assert derived.reply_topic() != chosen.reply_topic()
    assert derived.redact(f"GET {derived.base}/{derived.reply_topic()}/json") == f"GET {derived.base}/***/json"


def test_three_choices_free_text_and_a_link_still_fit_ntfys_three_actions(home: Home, ntfy: FakeNtfy) -> None:
    link = "https://mcp-push.example.net/answer/tk-w.a.sig"
    home.send_ask(choices=("Allow", "Deny", "Always allow"), allow_text=True, link=link)
    sent = ntfy.wait_message()
    assert [(a["action"], a["label"]) for a in sent["actions"]] == [
        ("http", "Allow"),
        ("http", "Deny"),
        ("http", "Always allow"),
    ]
    assert sent["message"].endswith(f"A written answer: give it on the answer page: {link}.")
    home.send_ask(choices=("Allow",), allow_text=True, link=link)
    assert [a["action"] for a in ntfy.wait_message(2)["actions"]] == ["http", "view"]
    assert ntfy.problems == []
