"""Applying answers: the first wins; a replayed, forged, expired or other-ask token never touches the ask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.asking.answers import (
    ACCEPTED,
    ALREADY,
    ENDED,
    INVALID,
    MAX_ANSWER_TEXT,
    apply_answer,
    apply_token,
    choice_index,
)
from mcp_push.asking.tokens import ANY_CHOICE, TEXT_CHOICE, AnswerKey
from mcp_push.storage import SqliteLedger
from mcp_push.storage.base import NewAsk, NewTicket

NOW = 1_800_000_000.0


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    backend = SqliteLedger(tmp_path / "ledger.sqlite3")
    yield backend
    backend.close()


@pytest.fixture
def key(tmp_path: Path) -> AnswerKey:
    (tmp_path / "home").mkdir()
    return AnswerKey.load(tmp_path / "home")


def ask(ledger: SqliteLedger, ticket: str = "tk-ask", *, allow_text: bool = False, expires: float = 600) -> str:
    choices = ("Allow", "Deny", "Always allow")
    new = NewAsk("Run rm -rf build?", choices, allow_text=allow_text, expires_at=NOW + expires, kind="permission")
    ledger.create_ticket(
        NewTicket(ticket, "run-1", "❓ Run rm", "Run rm -rf build?", NOW, ("telegram",), "ask", ask=new)
    )
    return ticket


def test_a_choice_token_answers_once_and_a_replay_is_told_already(ledger, key) -> None:
    t = ask(ledger)
    result = apply_token(ledger, key, key.sign(t, "2"), via="telegram", by="42", now=NOW + 1)
    assert result.outcome == ACCEPTED and result.accepted
    assert result.ask and (result.ask.answer, result.ask.choice, result.ask.answered_by) == ("Always allow", 2, "42")
    assert result.message == "Answered: Always allow."
    replay = apply_token(ledger, key, key.sign(t, "0"), via="ntfy", by="ntfy", now=NOW + 2)
    assert replay.outcome == ALREADY and replay.message == "Already answered: Always allow via telegram."
    stored = ledger.get_ask(t)
    assert stored and stored.answer == "Always allow" and stored.answered_via == "telegram"


def test_a_per_choice_token_ignores_a_choice_sent_beside_it(ledger, key) -> None:
    t = ask(ledger)
    result = apply_token(ledger, key, key.sign(t, "1"), via="link", by=None, now=NOW + 1, choice=0)
    assert result.outcome == ACCEPTED and result.ask and result.ask.answer == "Deny"


def test_rejected_tokens_never_touch_the_ask(ledger, key, tmp_path: Path) -> None:
    t = ask(ledger)
    (tmp_path / "other").mkdir()
    other_home = AnswerKey.load(tmp_path / "other")
    bad = [
        "garbage",
        key.sign(t, "0")[:-1] + "x",  # forged
        other_home.sign(t, "0"),  # another home's key
        key.sign("tk-nope", "0"),  # no such ask
        key.sign(t, "4"),  # a choice this ask does not have
        key.sign(t, TEXT_CHOICE),  # text, but the ask takes choices only
    ]
    for token in bad:
        result = apply_token(ledger, key, token, via="link", by=None, now=NOW + 1, text="yes")
        assert result.outcome == INVALID, token
        assert result.message
    stored = ledger.get_ask(t)
    assert stored and stored.status == "waiting" and stored.answer is None


def test_an_expired_or_cancelled_ask_takes_no_answer(ledger, key) -> None:
    late, cancelled = ask(ledger, "tk-late", expires=10), ask(ledger, "tk-cancel")
    result = apply_token(ledger, key, key.sign(late, "0"), via="link", by=None, now=NOW + 11)
    assert result.outcome == ENDED and result.message == "This question has expired."
    ledger.end_ask(cancelled, "cancelled", NOW + 1)
    result = apply_answer(ledger, cancelled, via="cli", by=None, now=NOW + 2, choice=0)
    assert result.outcome == ENDED and result.message == "This question was cancelled."
    for t in (late, cancelled):
        stored = ledger.get_ask(t)
        assert stored and stored.answer is None


def test_the_link_token_takes_a_choice_or_a_text(ledger, key) -> None:
    plain, free = ask(ledger, "tk-plain"), ask(ledger, "tk-free", allow_text=True)
    assert apply_token(ledger, key, key.sign(plain, ANY_CHOICE), via="link", by=None, now=NOW).outcome == INVALID
    no_text = apply_token(ledger, key, key.sign(plain, ANY_CHOICE), via="link", by=None, now=NOW, text="maybe")
    assert no_text.outcome == INVALID and "not a text" in no_text.message
    ok = apply_token(ledger, key, key.sign(plain, ANY_CHOICE), via="link", by="10.0.0.7", now=NOW, choice=1)
    assert ok.outcome == ACCEPTED and ok.ask and ok.ask.answer == "Deny"
    text = apply_token(ledger, key, key.sign(free, ANY_CHOICE), via="link", by=None, now=NOW, text="  only on Fridays ")
    assert text.outcome == ACCEPTED and text.ask and (text.ask.answer, text.ask.choice) == ("only on Fridays", None)


def test_a_text_token_needs_text(ledger, key) -> None:
    t = ask(ledger, allow_text=True)
    assert apply_token(ledger, key, key.sign(t, TEXT_CHOICE), via="ntfy", by=None, now=NOW).outcome == INVALID
    result = apply_token(ledger, key, key.sign(t, TEXT_CHOICE), via="ntfy", by=None, now=NOW, text="ship it")
    assert result.outcome == ACCEPTED and result.ask and result.ask.answer == "ship it"


def test_apply_answer_checks_its_input(ledger) -> None:
    t = ask(ledger, allow_text=True)
    cases = [
        ({}, "Choose one of the answers."),
        ({"choice": 3}, "This question has choices 1-3 only."),
        ({"choice": -1}, "This question has choices 1-3 only."),
        ({"choice": True}, "This question has choices 1-3 only."),
        ({"choice": 0, "text": "x"}, "Give a choice or a text, not both."),
        ({"text": "   "}, "The answer is empty: write some text."),
        ({"text": "x" * (MAX_ANSWER_TEXT + 1)}, f"The answer has {MAX_ANSWER_TEXT + 1:,} characters"),
    ]
    for kwargs, message in cases:
        result = apply_answer(ledger, t, via="cli", by=None, now=NOW, **kwargs)
        assert result.outcome == INVALID and result.message.startswith(message), kwargs
    assert apply_answer(ledger, "tk-none", via="cli", by=None, now=NOW, choice=0).outcome == INVALID
    stored = ledger.get_ask(t)
    assert stored and stored.status == "waiting"
    assert apply_answer(ledger, t, via="cli", by="me", now=NOW, choice=0).outcome == ACCEPTED


def test_choice_index_matches_labels_loosely(ledger) -> None:
    stored = ledger.get_ask(ask(ledger))
    assert stored is not None
    assert choice_index(stored, " always ALLOW ") == 2
    assert choice_index(stored, "maybe") is None
