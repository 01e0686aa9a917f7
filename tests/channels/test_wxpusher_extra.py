"""WxPusher: the enabling rule, content and summary limits, per-recipient results."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, RateLimitedError, TransientError
from mcp_push.channels.base import MemoryState
from mcp_push.channels.wxpusher import WxPusher
from tests.fakes.wxpusher import APP_TOKEN, UID, FakeWxPusher

ENV = {"WXPUSHER_APP_TOKEN": APP_TOKEN, "WXPUSHER_UIDS": UID, "WXPUSHER_TOPIC_IDS": "123"}


def test_needs_a_token_and_a_topic_or_uid() -> None:
    assert not WxPusher.enabled({"WXPUSHER_APP_TOKEN": APP_TOKEN})
    assert WxPusher.missing({"WXPUSHER_APP_TOKEN": APP_TOKEN}) == ["WXPUSHER_TOPIC_IDS or WXPUSHER_UIDS"]
    assert WxPusher.enabled({"WXPUSHER_APP_TOKEN": APP_TOKEN, "WXPUSHER_TOPIC_IDS": "1;2"})
    assert WxPusher.enabled({"WXPUSHER_APP_TOKEN": APP_TOKEN, "WXPUSHER_UIDS": "UID_a"})


def test_long_content_and_title_are_cut(clients: HttpClients) -> None:
    fake = FakeWxPusher().start()
    try:
        WxPusher(ENV, clients=clients, origin=fake.url).send(Message("标题" * 80, "x" * 50_000))
        assert fake.problems == []
        body = fake.requests[0].json()
        assert len(body["content"]) == 40_000 and len(body["summary"]) == 100
        assert body["topicIds"] == [123] and body["uids"] == [UID]
    finally:
        fake.stop()


def test_answers(clients: HttpClients) -> None:
    channel = WxPusher(ENV, clients=clients)
    with pytest.raises(RateLimitedError) as caught:
        channel.interpret(httpx.Response(200, json={"code": 1008, "msg": "too frequent"}))
    assert caught.value.retry_after == 1.0
    failed = {"code": 1000, "msg": "ok", "data": [{"uid": UID, "code": 1004, "status": "用户已取消关注"}]}
    with pytest.raises(PermanentError, match="用户已取消关注"):
        channel.interpret(httpx.Response(200, json=failed))
    assert WxPusher.rate_limit is not None and (WxPusher.rate_limit.count, WxPusher.rate_limit.per) == (2, 1)
    assert APP_TOKEN not in channel.rate_key()


def test_partial_delivery_names_the_recipient_missed_and_a_retry_sends_only_to_it(clients: HttpClients) -> None:
    fake = FakeWxPusher().start()
    try:
        fake.unreached = {UID: (1004, "用户已取消关注")}
        state = MemoryState()
        with pytest.raises(PermanentError, match=f"did not reach 1 of 2 recipients: uid {UID}: 用户已取消关注"):
            WxPusher(ENV, clients=clients, origin=fake.url, state=state).send(Message("Build", "done"))
        assert state.done_targets() == {"topic:123"}
        fake.unreached = {UID: (1009, "busy")}  # not reached for now: worth another try
        with pytest.raises(TransientError):
            WxPusher(ENV, clients=clients, origin=fake.url, state=state).send(Message("Build", "done"))
        fake.unreached = {}
        receipt = WxPusher(ENV, clients=clients, origin=fake.url, state=state).send(Message("Build", "done"))
        assert receipt.provider_id == "5123"
        asked = [(r.json()["uids"], r.json()["topicIds"]) for r in fake.requests]
        assert asked == [([UID], [123]), ([UID], []), ([UID], [])]
        assert fake.problems == []
    finally:
        fake.stop()
