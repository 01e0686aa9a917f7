"""Notifier.ask / wait / cancel: the question is a ticket, the wait ends the moment an answer lands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from mcp_push.asking.answers import ACCEPTED, apply_answer
from mcp_push.errors import InputError
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from mcp_push.views import status_text, wait_text
from tests.fakes.ntfy import CASE as NTFY


@pytest.fixture
def runtime(make_settings, fake) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings(NTFY.env(fake.url)))
    yield rt
    rt.close()


def test_an_ask_is_a_ticket_with_its_question_and_choices(runtime) -> None:
    receipt = Notifier(runtime).ask("Deploy to prod?", choices=["Deploy", "Wait"], run_id="ci-9", timeout_seconds=30)
    assert (receipt.status, receipt.run_id, receipt.channels, receipt.choices) == (
        "waiting",
        "ci-9",
        ["ntfy"],
        ["Deploy", "Wait"],
    )
    record = runtime.ledger.get_ticket(receipt.ticket)
    assert record and record.event == "ask" and record.title == "❓ Deploy to prod?"
    assert record.content == "Deploy to prod?\n\n1. Deploy\n2. Wait"
    ask = runtime.ledger.get_ask(receipt.ticket)
    assert ask and ask.expires_at == pytest.approx(time.time() + 30, abs=5) and ask.kind == "question"


def test_defaults_and_the_mcp_push_events_policy_does_not_apply(make_settings, fake) -> None:
    rt = Runtime.open(make_settings({**NTFY.env(fake.url), "MCP_PUSH_EVENTS": "end"}))
    try:
        receipt = Notifier(rt).ask("Continue?", allow_text=True)
        assert receipt.choices == ["Yes", "No"] and receipt.allow_text and receipt.channels == ["ntfy"]
        ask = rt.ledger.get_ask(receipt.ticket)
        assert ask and ask.expires_at - ask.created_at == 600
        record = rt.ledger.get_ticket(receipt.ticket)
        assert record and record.content.endswith("2. No\n(or answer in your own words)")
    finally:
        rt.close()


def test_the_same_question_twice_is_asked_twice_unless_an_idempotency_key_says_so(runtime) -> None:
    notifier = Notifier(runtime)
    a, b = notifier.ask("Merge?"), notifier.ask("Merge?")
    assert a.ticket != b.ticket and not b.duplicate  # no loop guard: a person must see each question
    first = notifier.ask("Merge?", idempotency_key="merge-1")
    apply_answer(runtime.ledger, first.ticket, via="cli", by=None, now=time.time(), choice=0)
    again = notifier.ask("Merge?", idempotency_key="merge-1")
    assert again.duplicate and again.ticket == first.ticket
    assert (again.status, again.answer) == ("answered", "Yes")
    notifier.send("t", "c", idempotency_key="plain")
    with pytest.raises(InputError, match="not an ask"):
        notifier.ask("Merge?", idempotency_key="plain")


BAD = [
    ({"question": ""}, "question is required"),
    ({"question": 5}, "question must be a string"),
    ({"question": "q" * 1001}, "1,000"),
    ({"choices": []}, "give 1 to 5"),
    ({"choices": ["a", "b", "c", "d", "e", "f"]}, "6 labels"),
    ({"choices": "Yes,No"}, "not a string"),
    ({"choices": ["Yes", 2]}, "not a number"),
    ({"choices": ["Yes", " "]}, "empty"),
    ({"choices": ["x" * 65]}, "the limit is 64"),
    ({"choices": ["Yes", "yes"]}, "given twice"),
    ({"choices": ["two\nlines"]}, "one line"),
    ({"allow_text": "yes"}, "true or false"),
    ({"timeout_seconds": 0}, "1 to 86400"),
    ({"timeout_seconds": 86401}, "1 to 86400"),
    ({"timeout_seconds": "60"}, "number of seconds"),
    ({"timeout_seconds": True}, "number of seconds"),
    ({"channels": ["carrier-pigeon"]}, "unknown channel"),
    ({"run_id": "bad id!"}, "run_id"),
]


@pytest.mark.parametrize(("kwargs", "words"), BAD)
def test_bad_input_is_refused_and_nothing_is_written(runtime, kwargs, words) -> None:
    args = {"question": "Go?", **kwargs}
    with pytest.raises(InputError, match=words):
        Notifier(runtime).ask(args.pop("question"), **args)
    assert runtime.ledger.waiting_asks(time.time()) == []


def test_wait_returns_the_answer_the_moment_it_lands(runtime) -> None:
    notifier = Notifier(runtime)
    receipt = notifier.ask("Allow rm -rf build?", choices=["Allow", "Deny"])
    started = threading.Event()
    answered: list[str] = []

    def answer() -> None:
        started.wait(10)
        result = apply_answer(runtime.ledger, receipt.ticket, via="telegram", by="42", now=time.time(), choice=1)
        answered.append(result.outcome)

    thread = threading.Thread(target=answer)
    thread.start()
    steps = notifier.waiting(receipt.ticket, 100)
    next(steps)  # the first look found it waiting
    started.set()
    thread.join()
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        doc = stop.value
    assert answered == [ACCEPTED]
    assert (doc.kind, doc.status, doc.done, doc.answer) == ("ask", "answered", True, "Deny")
    assert doc.ask and (doc.ask.via, doc.ask.by) == ("telegram", "42")
    assert doc.waited_seconds < 100
    assert "Answered: 'Deny' (via telegram)" in wait_text(doc)


def test_wait_at_the_deadline_says_to_call_again(runtime) -> None:
    notifier = Notifier(runtime)
    receipt = notifier.ask("Ship?")
    doc = notifier.wait(receipt.ticket, 0)
    assert (doc.status, doc.done, doc.answer) == ("waiting", False, None)
    assert doc.hint and "notify_wait" in doc.hint


def test_an_ask_past_its_deadline_is_reported_expired(runtime) -> None:
    notifier = Notifier(runtime)
    receipt = notifier.ask("Ship?", timeout_seconds=1)
    doc = notifier.wait(receipt.ticket, 5)
    assert (doc.status, doc.done) == ("expired", True)
    assert "expired without an answer" in wait_text(doc)
    stored = runtime.ledger.get_ask(receipt.ticket)
    assert stored and stored.status == "expired"


def test_cancel_ends_a_waiting_ask_once(runtime) -> None:
    notifier = Notifier(runtime)
    receipt = notifier.ask("Ship?")
    doc = notifier.cancel(receipt.ticket)
    assert (doc.status, doc.done) == ("cancelled", True)
    late = apply_answer(runtime.ledger, receipt.ticket, via="cli", by=None, now=time.time(), choice=0)
    assert late.outcome == "ended"
    assert notifier.cancel(receipt.ticket).status == "cancelled"  # again: no error, same state
    plain = notifier.send("t", "c")
    with pytest.raises(InputError, match="not an ask"):
        notifier.cancel(plain.ticket)
    with pytest.raises(InputError, match="no ticket"):
        notifier.cancel("tk-nope")
    with pytest.raises(InputError, match="no ticket"):
        notifier.wait("tk-nope", 1)
    with pytest.raises(InputError, match="0 to 100"):
        notifier.wait(receipt.ticket, 101)


def test_status_shows_the_ask_and_its_answer(runtime) -> None:
    notifier = Notifier(runtime)
    receipt = notifier.ask("Deploy?", choices=["Deploy", "Wait"], run_id="r-ask")
    doc = notifier.status(ticket=receipt.ticket)
    assert doc.tickets[0].ask and doc.tickets[0].ask.status == "waiting"
    assert "ask: waiting for an answer (Deploy / Wait)" in status_text(doc)
    apply_answer(runtime.ledger, receipt.ticket, via="link", by="10.0.0.5", now=time.time(), choice=0)
    doc = notifier.status(run_id="r-ask")
    ask = doc.tickets[0].ask
    assert ask and (ask.answer, ask.via, ask.by) == ("Deploy", "link", "10.0.0.5")
    assert "answered 'Deploy' via link by 10.0.0.5" in status_text(doc)
    assert doc.last_event is None  # an ask is not a task event


def test_wait_on_a_plain_notification_returns_each_channels_outcome(runtime, fake) -> None:
    worker = Worker(Runtime.open(runtime.settings, queue=True), threads=1)
    worker.start()
    try:
        receipt = Notifier(runtime).send("Build done", "412 passed")
        doc = Notifier(runtime).wait(receipt.ticket, 30)
    finally:
        worker.stop(timeout=2)
        worker.runtime.close()
    assert (doc.kind, doc.status, doc.done) == ("notification", "success", True)
    assert [(d.channel, d.status) for d in doc.deliveries] == [("ntfy", "delivered")]
    assert fake.problems == []


def test_wait_reports_partial_success_with_each_channels_error(make_settings, fake) -> None:
    from tests.fakes.gotify import CASE as GOTIFY
    from tests.fakes.gotify import FakeGotify

    gotify = FakeGotify().start()
    fake.default_mode = "permanent"  # ntfy refuses; gotify takes it
    runtime = Runtime.open(make_settings({**NTFY.env(fake.url), **GOTIFY.env(gotify.url)}))
    worker = Worker(Runtime.open(runtime.settings, queue=True), threads=2)
    worker.start()
    try:
        receipt = Notifier(runtime).send("Nightly", "done", channels=["ntfy", "gotify"])
        doc = Notifier(runtime).wait(receipt.ticket, 30)
    finally:
        worker.stop(timeout=2)
        worker.runtime.close()
        runtime.close()
        gotify.stop()
    assert (doc.status, doc.done) == ("partial_success", True)
    outcome = {d.channel: (d.status, bool(d.last_error)) for d in doc.deliveries}
    assert outcome == {"ntfy": ("failed", True), "gotify": ("delivered", False)}
    assert "ntfy: failed - " in wait_text(doc)
    assert gotify.problems == []
