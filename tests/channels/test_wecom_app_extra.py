"""WeCom application: the cached access token, its refresh on 40014/42001, QYWX_AM parsing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, wecom_app
from mcp_push.channels.wecom_app import WeComApp
from tests.fakes.wecom_app import AGENTID, CORPID, CORPSECRET, TOKEN_PREFIX, TOUSER, FakeWeComApp

AM = f"{CORPID},{CORPSECRET},{TOUSER},{AGENTID}"
MESSAGE = Message("Build finished", "All 42 tests passed.")


@pytest.fixture
def fake() -> Iterator[FakeWeComApp]:
    wecom_app._TOKENS.clear()
    fake = FakeWeComApp().start()
    yield fake
    fake.stop()
    wecom_app._TOKENS.clear()


def make(fake: FakeWeComApp, clients: HttpClients, am: str = AM) -> WeComApp:
    return WeComApp({"QYWX_AM": am}, clients=clients, origin=fake.url)


def test_one_gettoken_serves_two_sends(fake: FakeWeComApp, clients: HttpClients) -> None:
    assert make(fake, clients).send(MESSAGE).provider_id == "msgid-x1Y2z3"
    make(fake, clients).send(MESSAGE)  # a new channel object: the cache is per process
    assert len(fake.token_requests) == 1
    assert len(fake.requests) == 2
    assert fake.problems == []


@pytest.mark.parametrize("refusal", ["expired", "invalid"])
def test_refused_token_is_refreshed_once_and_the_message_resent(
    fake: FakeWeComApp, clients: HttpClients, refusal: str
) -> None:
    make(fake, clients).send(MESSAGE)
    if refusal == "expired":
        fake.expire_tokens()  # 42001
    else:
        fake.valid_tokens.clear()  # 40014
    make(fake, clients).send(MESSAGE)
    assert len(fake.token_requests) == 2
    assert len(fake.requests) == 3
    assert fake.problems == ["expired token" if refusal == "expired" else "bad token"]
    assert fake.requests[2].param("access_token") == f"{TOKEN_PREFIX}-2"


def test_token_is_fetched_again_after_expires_in(fake: FakeWeComApp, clients: HttpClients) -> None:
    fake.expires_in = 0
    make(fake, clients).send(MESSAGE)
    make(fake, clients).send(MESSAGE)
    assert len(fake.token_requests) == 2
    assert fake.problems == []


def test_cache_is_per_origin(clients: HttpClients, fake: FakeWeComApp) -> None:
    other = FakeWeComApp().start()
    try:
        make(fake, clients).send(MESSAGE)
        make(other, clients).send(MESSAGE)
        assert (len(fake.token_requests), len(other.token_requests)) == (1, 1)
        assert fake.problems == [] and other.problems == []
    finally:
        other.stop()


def test_bad_corpsecret_is_permanent_and_redacted(fake: FakeWeComApp, clients: HttpClients) -> None:
    wrong = "WrongSecretWrongSecretWrongSecret"
    channel = make(fake, clients, f"{CORPID},{wrong},{TOUSER},{AGENTID}")
    with pytest.raises(PermanentError) as caught:
        channel.send(MESSAGE)
    assert caught.value.code == 40001 and "corpsecret" in caught.value.reason
    assert fake.requests == []
    assert fake.problems == ["gettoken: bad corpsecret"]
    assert wrong not in (channel.redact(f"GET /cgi-bin/gettoken?corpid={CORPID}&corpsecret={wrong} failed") or "")


def test_access_token_is_redacted_once_known(fake: FakeWeComApp, clients: HttpClients) -> None:
    channel = make(fake, clients)
    channel.send(MESSAGE)
    assert fake.problems == []
    assert f"{TOKEN_PREFIX}-1" not in (channel.redact(f"token {TOKEN_PREFIX}-1 refused") or "")


def test_media_id_sends_mpnews(fake: FakeWeComApp, clients: HttpClients) -> None:
    make(fake, clients, f"{AM},2-Gp8xMedia").send(Message("Deploy", "line 1\nline <2>"))
    assert fake.problems == []
    body = fake.requests[0].json()
    article = body["mpnews"]["articles"][0]
    assert body["msgtype"] == "mpnews" and article["thumb_media_id"] == "2-Gp8xMedia"
    assert article["content"] == "line 1<br/>line &lt;2&gt;"


def test_malformed_qywx_am_is_reported_missing() -> None:
    env = {"QYWX_AM": f"{CORPID},{CORPSECRET}"}
    assert not WeComApp.enabled(env)
    assert WeComApp.missing(env) == ["QYWX_AM (as corpid,corpsecret,touser,agentid[,media_id])"]
    assert WeComApp.enabled({"QYWX_AM": AM})
