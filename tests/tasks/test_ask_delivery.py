"""How a worker sends an ask: signed tokens per choice for channels with buttons, and for every
other channel the answer link (MCP_PUSH_PUBLIC_URL) or a pointer to the terminal in the text."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from mcp_push.asking.answers import apply_answer
from mcp_push.asking.tokens import ANY_CHOICE, AnswerKey, TokenClaim
from tests.fakes.gotify import CASE as GOTIFY
from tests.fakes.gotify import FakeGotify
from tests.helpers import delivery_status, wait_until


@pytest.fixture
def gotify() -> Iterator[FakeGotify]:
    provider = FakeGotify().start()
    yield provider
    provider.stop()


def test_a_channel_without_buttons_points_to_the_terminal(open_pipeline, gotify) -> None:
    runtime, notifier = open_pipeline(GOTIFY.env(gotify.url))
    receipt = notifier.ask("Deploy to prod?", choices=["Deploy", "Hold"])
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="the ask delivered")
    (request,) = gotify.requests
    body = request.json()
    assert body["title"] == "❓ Deploy to prod?"
    shown = re.sub(r"\\(.)", r"\1", body["message"])  # Gotify's content is Markdown: without its escapes
    assert shown == (
        "Deploy to prod?\n\n1. Deploy\n2. Hold\n\n"
        f"Answer in the terminal (mcp-push answer {receipt.ticket} <choice>), or set MCP_PUSH_PUBLIC_URL for an "
        "answer link"
    )
    assert gotify.problems == []


def test_with_a_public_url_the_message_carries_a_signed_answer_link(open_pipeline, gotify) -> None:
    runtime, notifier = open_pipeline({**GOTIFY.env(gotify.url), "MCP_PUSH_PUBLIC_URL": "https://push.example.net/"})
    receipt = notifier.ask("Rotate the keys?", allow_text=True)
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="the ask delivered")
    message = gotify.requests[0].json()["message"]
    found = re.search(r"\nAnswer: <?https://push\.example\.net/answer/([^\s>]+)>?$", message)  # a Markdown autolink
    assert found, message
    key = AnswerKey.load(runtime.settings.home)
    assert key.verify(found.group(1)) == TokenClaim(receipt.ticket, ANY_CHOICE)
    assert gotify.problems == []


def test_the_prompt_has_one_token_per_choice(open_pipeline, gotify) -> None:
    runtime, notifier = open_pipeline(
        {**GOTIFY.env(gotify.url), "MCP_PUSH_PUBLIC_URL": "http://10.0.0.2:8766"}, worker=False
    )
    receipt = notifier.ask("Which region?", choices=["eu-west", "us-east", "ap-south"])
    record = runtime.ledger.get_ticket(receipt.ticket)
    assert record is not None
    message, why = runtime.deliverer._ask_message(record, answers=True)
    assert message is not None and why == ""
    assert message.content == record.content  # a channel with buttons gets no link line in the text
    prompt = message.ask
    assert prompt and prompt.choices == ("eu-west", "us-east", "ap-south") and not prompt.allow_text
    key = AnswerKey.load(runtime.settings.home)
    assert [key.verify(t) for t in prompt.tokens] == [TokenClaim(receipt.ticket, str(i)) for i in range(3)]
    assert all(len(t) <= 64 for t in prompt.tokens)
    assert prompt.link and prompt.link.startswith("http://10.0.0.2:8766/answer/")
    assert key.verify(prompt.link.rsplit("/", 1)[1]) == TokenClaim(receipt.ticket, ANY_CHOICE)


def test_an_ask_answered_before_its_message_went_out_is_not_sent(open_pipeline, gotify) -> None:
    runtime, notifier = open_pipeline(GOTIFY.env(gotify.url), worker=False)
    answered, cancelled = notifier.ask("Merge?"), notifier.ask("Tag the release?")
    apply_answer(runtime.ledger, answered.ticket, via="telegram", by="42", now=time.time(), choice=0)
    notifier.cancel(cancelled.ticket)
    late, _ = open_pipeline(GOTIFY.env(gotify.url), worker=True)  # a worker starts only now
    for ticket in (answered.ticket, cancelled.ticket):
        wait_until(lambda t=ticket: delivery_status(late, t) == "failed", what="the stale ask settled")
    reasons = {
        t: runtime.ledger.get_ticket(t).deliveries[0].last_error  # type: ignore[union-attr]
        for t in (answered.ticket, cancelled.ticket)
    }
    assert reasons == {
        answered.ticket: "not sent: the ask was already answered (via telegram) before this message went out",
        cancelled.ticket: "not sent: the ask was cancelled before this message went out",
    }
    assert gotify.requests == []
