"""DingTalk: the signature, the per-robot rate key, and the provider's error codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import unquote_plus

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, RateLimitedError, TransientError
from mcp_push.channels.dingtalk import DingTalk, sign
from tests.fakes.dingtalk import SECRET, TOKEN, FakeDingTalk

MESSAGE = Message("Build finished", "All 42 tests passed.")


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    fake = FakeDingTalk().start()
    yield fake
    fake.stop()


def make(fake: FakeDingTalk, clients: HttpClients, **env: str) -> DingTalk:
    return DingTalk({"DD_BOT_TOKEN": TOKEN, "DD_BOT_SECRET": SECRET, **env}, clients=clients, origin=fake.url)


def test_sign_is_url_encoded_base64_hmac_of_timestamp_and_secret() -> None:
    for ts in range(1_700_000_000_000, 1_700_000_000_050):
        signed = sign("SECabc", ts)
        raw = hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()
        assert unquote_plus(signed) == base64.b64encode(raw).decode()
        assert not set("+/=") & set(signed)


def test_signed_request_is_accepted(fake: FakeDingTalk, clients: HttpClients) -> None:
    for _ in range(5):
        make(fake, clients).send(MESSAGE)
    assert fake.problems == []
    body = fake.requests[0].json()
    text = "#### Build finished\n\nAll 42 tests passed."
    assert body == {"msgtype": "markdown", "markdown": {"title": "Build finished", "text": text}}


def test_a_url_becomes_an_action_card_button(fake: FakeDingTalk, clients: HttpClients) -> None:
    make(fake, clients).send(Message("Build *failed*", "see **log**", url="https://ci.example.com/42"))
    assert fake.problems == []
    card = fake.requests[0].json()["actionCard"]
    assert card["title"] == "Build *failed*" and card["text"] == "#### Build \\*failed\\*\n\nsee **log**"
    assert (card["singleTitle"], card["singleURL"]) == ("Open", "https://ci.example.com/42")


def test_wrong_secret_is_permanent_and_redacted(fake: FakeDingTalk, clients: HttpClients) -> None:
    channel = make(fake, clients, DD_BOT_SECRET="SECwrong0000000000000000")
    with pytest.raises(PermanentError) as caught:
        channel.send(MESSAGE)
    assert caught.value.code == 310000
    assert "sign not match" in caught.value.reason and "DD_BOT_SECRET" in caught.value.reason
    assert fake.problems == ["bad signature"]


def test_wrong_token_is_permanent(fake: FakeDingTalk, clients: HttpClients) -> None:
    with pytest.raises(PermanentError, match="token is not exist"):
        make(fake, clients, DD_BOT_TOKEN="f" * 64).send(MESSAGE)
    assert fake.problems == ["bad token"]


def test_rate_key_is_per_robot_without_the_token(fake: FakeDingTalk, clients: HttpClients) -> None:
    one, other = make(fake, clients), make(fake, clients, DD_BOT_TOKEN="0" * 64)
    assert one.rate_key() == make(fake, clients).rate_key()
    assert one.rate_key() != other.rate_key()
    assert TOKEN not in one.rate_key() and TOKEN[:8] not in one.rate_key()
    assert (DingTalk.rate_limit.count, DingTalk.rate_limit.per) == (20, 60)


def test_error_codes(fake: FakeDingTalk, clients: HttpClients) -> None:
    channel = make(fake, clients)

    def answer(body: dict, status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=body)

    with pytest.raises(RateLimitedError) as caught:
        channel.interpret(answer({"errcode": 130101, "errmsg": "send too fast"}))
    assert caught.value.retry_after == 600
    with pytest.raises(TransientError):
        channel.interpret(answer({"errcode": -1, "errmsg": "系统繁忙"}))
    with pytest.raises(PermanentError, match="something new"):
        channel.interpret(answer({"errcode": 400999, "errmsg": "something new"}))


def test_both_variables_are_required() -> None:
    assert not DingTalk.enabled({"DD_BOT_TOKEN": TOKEN})
    assert DingTalk.missing({"DD_BOT_TOKEN": TOKEN}) == ["DD_BOT_SECRET"]
    assert DingTalk.enabled({"DD_BOT_TOKEN": TOKEN, "DD_BOT_SECRET": SECRET})
