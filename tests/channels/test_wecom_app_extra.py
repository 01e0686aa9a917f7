"""WeCom application: the shared access token, its refresh on 40014/42001, partial receipts, QYWX_AM parsing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients, Message, PermanentError
from mcp_push.channels.base import MemoryState
from mcp_push.channels.seal import seal
from mcp_push.channels.wecom_app import WeComApp
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.storage.state import LedgerState
from tests.fakes.wecom_app import AGENTID, CORPID, CORPSECRET, TOKEN_PREFIX, TOUSER, FakeWeComApp

AM = f"{CORPID},{CORPSECRET},{TOUSER},{AGENTID}"
MESSAGE = Message("Build finished", "All 42 tests passed.")


@pytest.fixture
def fake() -> Iterator[FakeWeComApp]:
    MemoryState.forget()
    fake = FakeWeComApp().start()
    yield fake
    fake.stop()
    MemoryState.forget()


def make(fake: FakeWeComApp, clients: HttpClients, am: str = AM) -> WeComApp:
    return WeComApp({"QYWX_AM": am}, clients=clients, origin=fake.url)


def test_one_gettoken_serves_two_sends(fake: FakeWeComApp, clients: HttpClients) -> None:
    assert make(fake, clients).send(MESSAGE).provider_id == "msgid-x1Y2z3"
    make(fake, clients).send(MESSAGE)  # a new channel object without a ledger: the cache is per process
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


def test_three_deliveries_in_three_processes_fetch_one_token(fake: FakeWeComApp, tmp_path) -> None:
    """As three `mcp-push send` in a row: separate ledger handles and channel objects share one token."""
    path = tmp_path / "ledger.sqlite3"
    for n in range(3):
        ledger = SqliteLedger(path)  # a new process opens the ledger anew
        record, _ = ledger.create_ticket(NewTicket(f"tk-{n}", "run-1", "Build", "done", time.time(), ("wecom_app",)))
        clients = HttpClients(5)
        try:
            state = LedgerState(ledger, record.deliveries[0].id)
            WeComApp({"QYWX_AM": AM}, clients=clients, origin=fake.url, state=state).send(MESSAGE)
        finally:
            clients.close()
            ledger.close()
    assert len(fake.token_requests) == 1 and len(fake.requests) == 3
    assert fake.problems == []
    ledger = SqliteLedger(path)
    cached = ledger.dump_table("channel_cache")
    ledger.close()
    assert len(cached) == 1
    stored = repr(cached)
    assert TOKEN_PREFIX not in stored and CORPSECRET not in stored and CORPID not in stored  # sealed, key hashed


def test_a_token_sealed_with_another_secret_is_not_used(fake: FakeWeComApp, clients: HttpClients) -> None:
    state = MemoryState()
    make(fake, clients).send(MESSAGE)
    key = make(fake, clients)._cache_key()
    state.cache(key, seal("someone else's secret", f"{TOKEN_PREFIX}-forged"), 600)
    WeComApp({"QYWX_AM": AM}, clients=clients, origin=fake.url, state=state).send(MESSAGE)
    assert len(fake.token_requests) == 2 and fake.problems == []


def test_partial_delivery_names_the_missed_users_and_a_retry_sends_only_to_them(
    fake: FakeWeComApp, clients: HttpClients
) -> None:
    fake.invalid_users = {"LiSi"}
    state = MemoryState()
    with pytest.raises(PermanentError, match="delivered to 1 of 2 recipients; not to user LiSi"):
        WeComApp({"QYWX_AM": AM}, clients=clients, origin=fake.url, state=state).send(MESSAGE)
    assert state.done_targets() == {"user:ZhangSan"}
    fake.invalid_users = set()  # the admin added LiSi to the visible range; the user retries the dead letter
    WeComApp({"QYWX_AM": AM}, clients=clients, origin=fake.url, state=state).send(MESSAGE)
    assert [r.json()["touser"] for r in fake.requests] == ["ZhangSan|LiSi", "LiSi"]
    assert state.done_targets() == {"user:ZhangSan", "user:LiSi"}
    assert fake.problems == []
