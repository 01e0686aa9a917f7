"""WeCom group robot: the 2048-byte text limit, pasted webhook URLs, the per-robot rate key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mcp_push.channels import HttpClients, Message, PermanentError, RateLimitedError
from mcp_push.channels.wecom_bot import WeComBot
from tests.fakes.wecom_bot import KEY, FakeWeComBot


@pytest.fixture
def fake() -> Iterator[FakeWeComBot]:
    fake = FakeWeComBot().start()
    yield fake
    fake.stop()


def make(fake: FakeWeComBot, clients: HttpClients, **env: str) -> WeComBot:
    return WeComBot({"QYWX_KEY": KEY, "QYWX_ORIGIN": fake.url, **env}, clients=clients)


def test_long_chinese_markdown_is_cut_to_4096_bytes(fake: FakeWeComBot, clients: HttpClients) -> None:
    make(fake, clients).send(Message("构建完成", "测试全部通过。" * 1000, event="end"))
    assert fake.problems == []
    content = fake.requests[0].json()["markdown"]["content"]
    assert content.startswith('### <font color="info">构建完成</font>\n')
    assert len(content.encode()) <= 4096 and content.endswith(" more characters)")


def test_a_pasted_webhook_url_works(fake: FakeWeComBot, clients: HttpClients) -> None:
    channel = make(fake, clients, QYWX_KEY=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
    channel.send(Message("t", "c"))
    assert fake.problems == []
    assert channel.rate_key() == make(fake, clients).rate_key()
    assert KEY not in channel.rate_key()


def test_bad_key_is_permanent_with_a_hint(fake: FakeWeComBot, clients: HttpClients) -> None:
    with pytest.raises(PermanentError) as caught:
        make(fake, clients, QYWX_KEY="00000000-0000-0000-0000-000000000000").send(Message("t", "c"))
    assert caught.value.code == 93000 and "QYWX_KEY" in caught.value.reason
    assert fake.problems == ["bad key"]


def test_45009_waits_a_minute(clients: HttpClients) -> None:
    channel = WeComBot({"QYWX_KEY": KEY}, clients=clients)
    with pytest.raises(RateLimitedError) as caught:
        channel.interpret(httpx.Response(200, json={"errcode": 45009, "errmsg": "api freq out of limit"}))
    assert caught.value.retry_after == 60
    assert (WeComBot.rate_limit.count, WeComBot.rate_limit.per) == (20, 60)
