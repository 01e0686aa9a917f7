"""ServerChan: Turbo and SC3 addresses, one-line titles, doubled newlines in desp, errno in data, the daily cap."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, RateLimitedError
from mcp_push.channels.serverchan import ServerChan
from tests.fakes.serverchan import KEY, FakeServerChan


def test_turbo_and_sc3_urls(clients: HttpClients) -> None:
    assert ServerChan({"PUSH_KEY": KEY}, clients=clients).url() == f"https://sctapi.ftqq.com/{KEY}.send"
    sc3 = "sctp1234tAbCdEfGh"
    assert ServerChan({"PUSH_KEY": sc3}, clients=clients).url() == f"https://1234.push.ft07.com/send/{sc3}.send"


def test_title_line_breaks_are_removed(clients: HttpClients) -> None:
    fake = FakeServerChan().start()
    try:
        ServerChan({"PUSH_KEY": KEY}, clients=clients, origin=fake.url).send(Message("Build\nfinished", "body"))
        assert fake.problems == []
        assert fake.requests[0].form() == {"title": "Build finished", "desp": "body"}
    finally:
        fake.stop()


def test_each_line_of_the_content_stays_a_paragraph(clients: HttpClients) -> None:
    """desp is Markdown: a line break inside a paragraph is a hard break, so lines do not run together."""
    fake = FakeServerChan().start()
    try:
        content = "Build finished\n- 42 passed\n- 0 failed\n\nsee the log\nline two"
        ServerChan({"PUSH_KEY": KEY}, clients=clients, origin=fake.url).send(Message("CI", content))
        assert fake.problems == []
        assert fake.requests[0].form()["desp"] == "Build finished\n\n- 42 passed\n- 0 failed\n\nsee the log  \nline two"
    finally:
        fake.stop()


def test_answers(clients: HttpClients) -> None:
    channel = ServerChan({"PUSH_KEY": KEY}, clients=clients)
    with pytest.raises(PermanentError, match="quota"):
        channel.interpret(httpx.Response(200, json={"code": 0, "data": {"errno": 1024, "error": "quota"}}))
    with pytest.raises(RateLimitedError) as caught:
        channel.interpret(httpx.Response(429, text="Too Many Requests"))
    assert caught.value.retry_after == 3600
    assert channel.interpret(httpx.Response(200, json={"code": 0, "data": {"pushid": "9", "errno": 0}})).provider_id
