"""The answer page over HTTP: GET shows, only POST answers, bad tokens never touch the ask.

The page runs behind the same Gate as the servers that mount it (Host/Origin checks); the
in-process client is Starlette's TestClient, whose client address is ``testclient``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mcp_push.asking.page import FAIL_LIMIT, answer_routes
from mcp_push.asking.tokens import AnswerKey
from mcp_push.dashboard.app import create_dashboard_app
from mcp_push.http_guard import Gate, HostRules
from mcp_push.storage import NewTicket
from mcp_push.storage.base import AskRecord, NewAsk
from mcp_push.tasks.runtime import Runtime

BASE = "http://127.0.0.1:8766"
SEQ = iter(range(10**6))


@pytest.fixture
def runtime(make_settings) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings({}))
    yield rt
    rt.close()


@pytest.fixture
def key(runtime: Runtime) -> AnswerKey:
    return AnswerKey.load(runtime.settings.home)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = Gate(Starlette(routes=answer_routes(runtime)), rules=HostRules("127.0.0.1", 8766))
    with TestClient(app, base_url=BASE) as c:
        yield c


def make_ask(
    runtime: Runtime,
    question: str = "Allow Claude Code to run `rm -rf build`?",
    choices: tuple[str, ...] = ("Allow", "Deny"),
    allow_text: bool = False,
    seconds: float = 300,
) -> str:
    now = time.time()
    ticket = f"tk-{int(now * 1000):012x}{next(SEQ):08x}"
    runtime.ledger.create_ticket(
        NewTicket(
            ticket, "claude:s1", f"❓ {question[:60]}", question, now, (), "ask", None, None, None,
            ask=NewAsk(question, choices, allow_text, now + seconds, "permission"),
        )
    )  # fmt: skip
    return ticket


def ask_of(runtime: Runtime, ticket: str) -> AskRecord:
    ask = runtime.ledger.get_ask(ticket)
    assert ask is not None
    return ask


def link(key: AnswerKey, ticket: str, choice: str = "a") -> str:
    return f"/answer/{key.sign(ticket, choice)}"


def test_get_shows_the_question_and_a_button_per_choice_and_answers_nothing(client, runtime, key) -> None:
    ticket = make_ask(runtime, choices=("Allow", "Always allow", "Deny"))
    for method in ("GET", "HEAD"):
        page = client.request(method, link(key, ticket))
        assert page.status_code == 200
    page = client.get(link(key, ticket))
    assert "rm -rf build" in page.text
    assert page.text.count('type="submit" name="choice"') == 3
    for i, label in enumerate(("Allow", "Always allow", "Deny")):
        assert f'value="{i}"' in page.text and label in page.text
    assert 'method="post"' in page.text and "<textarea" not in page.text
    assert ask_of(runtime, ticket).status == "waiting"  # a link previewer's GET changes nothing
    csp = page.headers["content-security-policy"]
    assert "form-action 'self'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert "<script" not in page.text
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in page.text
    assert page.headers["referrer-policy"] == "same-origin" and page.headers["cache-control"] == "no-store"


def test_post_answers_and_a_replay_is_already_answered(client, runtime, key) -> None:
    ticket = make_ask(runtime)
    url = link(key, ticket)
    done = client.post(url, data={"choice": "1"})
    assert done.status_code == 200 and "Answered: Deny" in done.text
    ask = ask_of(runtime, ticket)
    assert (ask.status, ask.answer, ask.choice, ask.answered_via, ask.answered_by) == (
        "answered", "Deny", 1, "link", "testclient"
    )  # fmt: skip
    again = client.post(url, data={"choice": "0"})
    assert again.status_code == 409 and "Already answered" in again.text and "Deny" in again.text
    assert ask_of(runtime, ticket).answer == "Deny"
    shown = client.get(url)
    assert "Already answered" in shown.text and 'name="choice"' not in shown.text


def test_a_per_choice_token_shows_and_answers_its_own_choice_only(client, runtime, key) -> None:
    ticket = make_ask(runtime)
    url = link(key, ticket, "0")
    page = client.get(url)
    assert page.text.count('name="choice"') == 1 and "Allow" in page.text
    assert client.post(url, data={"choice": "1"}).status_code == 200  # the token's own choice wins
    assert ask_of(runtime, ticket).answer == "Allow"


def test_free_text_answers(client, runtime, key) -> None:
    ticket = make_ask(runtime, "Which branch should I deploy?", ("main", "staging"), allow_text=True)
    page = client.get(link(key, ticket))
    assert "<textarea" in page.text and page.text.count('name="choice"') == 2
    done = client.post(link(key, ticket), data={"text": "release/2.4"})
    assert done.status_code == 200 and "Answered: release/2.4" in done.text
    ask = ask_of(runtime, ticket)
    assert (ask.answer, ask.choice) == ("release/2.4", None)
    empty = make_ask(runtime, allow_text=True)
    assert client.post(link(key, empty), data={}).status_code == 400
    assert ask_of(runtime, empty).status == "waiting"


@pytest.mark.parametrize("how", ["forged", "other home", "no such ask", "garbage", "too long"])
def test_bad_tokens_are_rejected_without_touching_the_ask(client, runtime, key, tmp_path, how) -> None:
    ticket = make_ask(runtime)
    good = key.sign(ticket, "0")
    (tmp_path / "elsewhere").mkdir()
    token = {
        "forged": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "other home": AnswerKey.load(tmp_path / "elsewhere").sign(ticket, "0"),
        "no such ask": key.sign("tk-000000000000deadbeef", "0"),
        "garbage": "not-a-token",
        "too long": good + "x" * 80,
    }[how]
    for response in (client.get(f"/answer/{token}"), client.post(f"/answer/{token}", data={"choice": "0"})):
        assert response.status_code == 404 and "This link is not valid" in response.text
    assert ask_of(runtime, ticket).status == "waiting"


def test_an_ended_ask_says_so_and_takes_no_answer(client, runtime, key) -> None:
    expired = make_ask(runtime)
    assert runtime.ledger.end_ask(expired, "expired", time.time())
    page = client.get(link(key, expired))
    assert "This question has ended" in page.text and "expired" in page.text and 'name="choice"' not in page.text
    late = client.post(link(key, expired), data={"choice": "0"})
    assert late.status_code == 410 and "This question has ended" in late.text
    assert ask_of(runtime, expired).answer is None
    past_deadline = make_ask(runtime, seconds=-5)  # still "waiting": no listener expired it yet
    assert "This question has ended" in client.get(link(key, past_deadline)).text
    assert client.post(link(key, past_deadline), data={"choice": "0"}).status_code == 410
    assert ask_of(runtime, past_deadline).answer is None
    cancelled = make_ask(runtime)
    runtime.ledger.end_ask(cancelled, "cancelled", time.time())
    assert "cancelled" in client.get(link(key, cancelled)).text
    assert client.post(link(key, cancelled), data={"choice": "0"}).status_code == 410


def test_wrong_host_or_origin_is_refused_before_the_ask(client, runtime, key) -> None:
    ticket = make_ask(runtime)
    url = link(key, ticket)
    assert client.get(url, headers={"Host": "evil.example"}).status_code == 421
    assert client.post(url, data={"choice": "0"}, headers={"Host": "evil.example:8766"}).status_code == 421
    cross = client.post(url, data={"choice": "0"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    same = client.post(url, data={"choice": "0"}, headers={"Origin": BASE})
    assert same.status_code == 200
    assert ask_of(runtime, ticket).answer == "Allow"


def test_failed_tokens_are_rate_limited_per_address(client, runtime, key) -> None:
    ticket = make_ask(runtime)
    for i in range(FAIL_LIMIT):
        assert client.get(f"/answer/tk-0.{i % 5}.guess{i:017d}").status_code == 404
    blocked = client.post(link(key, ticket), data={"choice": "0"})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
    assert ask_of(runtime, ticket).status == "waiting"  # even a good link waits out the block
    other = runtime.ledger.reserve_rate("answer-fail:someone-else", FAIL_LIMIT, 600, time.time())
    assert other == 0  # the count is per address


def test_a_huge_body_is_refused(client, runtime, key) -> None:
    ticket = make_ask(runtime)
    response = client.post(link(key, ticket), content=b"choice=0&pad=" + b"x" * 20_000)
    assert response.status_code == 413 and ask_of(runtime, ticket).status == "waiting"


def test_the_standalone_dashboard_serves_the_page_the_mounted_one_does_not(runtime, key) -> None:
    ticket = make_ask(runtime)
    rules = HostRules("127.0.0.1", 8766)
    with TestClient(Gate(create_dashboard_app(runtime, answer_page=True), rules=rules), base_url=BASE) as c:
        assert c.get(link(key, ticket)).status_code == 200
        assert c.post(link(key, ticket), data={"choice": "0"}).status_code == 200
        assert c.get("/").status_code == 200  # the dashboard itself is still there
    with TestClient(create_dashboard_app(runtime, base_path="/dashboard"), base_url=BASE) as c:
        assert c.get(link(key, ticket)).status_code == 404
    assert ask_of(runtime, ticket).answer == "Allow"


def test_the_http_transport_serves_the_page_without_the_bearer_token(runtime, key, make_settings) -> None:
    from mcp_push.notifier import Notifier
    from mcp_push.server.app import build_server
    from mcp_push.server.http import build_http_app

    token = "t" * 40
    settings = make_settings({"MCP_PUSH_HTTP_TOKEN": token})
    rt = Runtime.open(settings)
    try:
        ticket = make_ask(rt)
        home_key = AnswerKey.load(settings.home)
        app = build_http_app(build_server(Notifier(rt)), settings, host="127.0.0.1", port=8766, dashboard_source=rt)
        with TestClient(app, base_url=BASE) as c:
            assert c.get(link(home_key, ticket)).status_code == 200  # the phone has no bearer token
            assert c.get("/answer/x/../../mcp").status_code in (401, 404)  # nothing deeper is open
            assert c.get("/answer").status_code == 401
            assert c.post("/mcp", json={}).status_code == 401
            assert c.get(link(home_key, ticket), headers={"Host": "evil.example"}).status_code == 421
            assert c.post(link(home_key, ticket), data={"choice": "1"}).status_code == 200
        assert ask_of(rt, ticket).answer == "Deny"
    finally:
        rt.close()


def test_the_public_url_host_is_served(make_settings) -> None:
    settings = make_settings({"MCP_PUSH_PUBLIC_URL": "https://push.example.org/"})
    rules = HostRules.for_settings(settings, "127.0.0.1", 8765)
    assert rules.host_ok("push.example.org") and rules.origin_ok("https://push.example.org")
    assert not rules.host_ok("evil.example")


def test_everything_shown_is_escaped(client, runtime, key) -> None:
    ticket = make_ask(runtime, 'Run <script>alert("x")</script> & "rm"?', ("<b>Yes</b>", "No"))
    page = client.get(link(key, ticket))
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text and "&lt;b&gt;Yes&lt;/b&gt;" in page.text
    done: Any = client.post(link(key, ticket), data={"choice": "0"})
    assert "&lt;b&gt;Yes&lt;/b&gt;" in done.text and "<b>Yes</b>" not in done.text
