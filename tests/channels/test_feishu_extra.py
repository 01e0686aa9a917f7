"""Feishu: signing on and off, the 20 KB body limit, legacy answers and error codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, RateLimitedError
from mcp_push.channels.feishu import Feishu
from tests.fakes.feishu import SECRET, TOKEN, FakeFeishu


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    fake = FakeFeishu().start()
    yield fake
    fake.stop()


def make(fake: FakeFeishu, clients: HttpClients, **env: str) -> Feishu:
    return Feishu({"FSKEY": TOKEN, "FSSECRET": SECRET, **env}, clients=clients, origin=fake.url)


def test_unsigned_without_fssecret(clients: HttpClients) -> None:
    req = Feishu({"FSKEY": TOKEN}, clients=clients).request(Message("t", "c"))
    body = json.loads(req.content)
    assert req.url == f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}"
    assert body["msg_type"] == "interactive" and "sign" not in body
    assert body["card"]["header"] == {"template": "grey", "title": {"tag": "plain_text", "content": "t"}}
    assert body["card"]["elements"] == [{"tag": "markdown", "content": "c"}]


def test_card_colour_button_and_source(fake: FakeFeishu, clients: HttpClients) -> None:
    message = Message(
        "Failed", "**x** <at id=all></at>", event="error", url="https://ci.example.com/1", source="p · main"
    )
    make(fake, clients).send(message)
    assert fake.problems == []
    card = fake.requests[0].json()["card"]
    assert card["header"]["template"] == "red"
    markdown, action, note = card["elements"]
    assert markdown == {"tag": "markdown", "content": "**x** &#60;at id=all&#62;&#60;/at&#62;"}
    assert action["actions"][0]["url"] == "https://ci.example.com/1"
    assert note["elements"][0]["content"] == "p · main"


def test_wrong_secret_is_permanent(fake: FakeFeishu, clients: HttpClients) -> None:
    with pytest.raises(PermanentError) as caught:
        make(fake, clients, FSSECRET="not-the-secret").send(Message("t", "c"))
    assert caught.value.code == 19021 and "FSSECRET" in caught.value.reason
    assert fake.problems == ["bad signature"]


@pytest.mark.parametrize("unit", ["中文", '"', "\n", "a"])
def test_long_text_is_cut_to_fit_20kb(fake: FakeFeishu, clients: HttpClients, unit: str) -> None:
    channel = make(fake, clients)
    req = channel.request(Message("title", unit * 30_000))
    assert len(req.content) <= 20 * 1024
    content = json.loads(req.content)["card"]["elements"][0]["content"]
    assert content.endswith("more characters)*") or (unit == "\n" and content == "title")
    channel.send(Message("title", unit * 30_000))
    assert fake.problems == []


def test_full_hook_url_is_accepted_and_redacted(fake: FakeFeishu, clients: HttpClients) -> None:
    channel = make(fake, clients, FSKEY=f"https://open.larksuite.com/open-apis/bot/v2/hook/{TOKEN}")
    channel.send(Message("t", "c"))
    assert fake.problems == []
    assert TOKEN not in (channel.redact(f"POST .../hook/{TOKEN}") or "")
    assert TOKEN not in channel.rate_key()


def test_answers(clients: HttpClients) -> None:
    channel = Feishu({"FSKEY": TOKEN}, clients=clients)
    assert channel.interpret(httpx.Response(200, json={"Extra": None, "StatusCode": 0, "StatusMessage": "success"}))
    with pytest.raises(RateLimitedError) as caught:
        channel.interpret(httpx.Response(200, json={"code": 11232, "msg": "frequency limited"}))
    assert 0 < (caught.value.retry_after or 0) <= 10
    with pytest.raises(PermanentError, match="ip not allowed"):
        channel.interpret(httpx.Response(200, json={"code": 19022, "msg": "ip not allowed"}))
    with pytest.raises(PermanentError, match="Bad Request \\(code 9499\\)"):
        channel.interpret(httpx.Response(200, json={"StatusCode": 9499, "StatusMessage": "Bad Request"}))
