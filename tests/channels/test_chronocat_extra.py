"""Chronocat sends one request per target; an inline retry resends only to the targets that failed."""

from __future__ import annotations

import pytest

from mcp_push.channels import HttpClients, PermanentError, TransientError
from mcp_push.channels.base import Message
from mcp_push.channels.chronocat import Chronocat, parse_targets
from tests.fakes.chronocat import TOKEN, FakeChronocat

MESSAGE = Message("Build finished", "All tests passed.", ticket="tk-1")


@pytest.fixture
def fake():
    fake = FakeChronocat().start()
    yield fake
    fake.stop()


def channel(url: str, qq: str) -> Chronocat:
    env = {"CHRONOCAT_URL": url, "CHRONOCAT_QQ": qq, "CHRONOCAT_TOKEN": TOKEN}
    return Chronocat(env, clients=HttpClients(5))


def test_parse_targets() -> None:
    assert parse_targets("user_id=1;group_id=2, 3;user_id=1") == [(1, "1"), (2, "2"), (2, "3")]
    assert parse_targets("nothing here") == []


def test_one_request_per_target(fake) -> None:
    receipt = channel(fake.url, "user_id=111;group_id=222").send(MESSAGE)
    peers = [r.json()["peer"] for r in fake.requests]
    assert peers == [{"chatType": 1, "peerUin": "111"}, {"chatType": 2, "peerUin": "222"}]
    assert receipt.provider_id and receipt.provider_id.count(",") == 1
    assert fake.problems == []


def test_retry_resends_only_the_failed_target(fake) -> None:
    ch = channel(fake.url, "user_id=111;group_id=222")
    fake.script("ok", "transient")
    with pytest.raises(TransientError, match="sent to 1 of 2 targets; group 222"):
        ch.send(MESSAGE)
    assert ch.send(MESSAGE).provider_id  # the tenacity retry reuses the channel instance
    assert [r.json()["peer"]["peerUin"] for r in fake.requests] == ["111", "222", "222"]
    assert fake.problems == []


def test_a_refused_target_is_not_forgotten_when_the_others_recover(fake) -> None:
    ch = channel(fake.url, "user_id=111;group_id=222")
    fake.script("permanent", "transient", "ok")
    with pytest.raises(TransientError):
        ch.send(MESSAGE)
    with pytest.raises(PermanentError, match="sent to 1 of 2 targets; user 111: HTTP 401"):
        ch.send(MESSAGE)
    assert len(fake.requests) == 3
    assert fake.problems == []  # refused as scripted, not for a wrong token


def test_a_permanent_failure_is_reported_after_the_other_targets(fake) -> None:
    fake.script("permanent", "ok")
    with pytest.raises(PermanentError, match="sent to 1 of 2 targets; user 111: HTTP 401"):
        channel(fake.url, "user_id=111;group_id=222").send(MESSAGE)
    assert len(fake.requests) == 2
    assert fake.problems == []


def test_no_target_is_permanent(fake) -> None:
    with pytest.raises(PermanentError, match="CHRONOCAT_QQ"):
        channel(fake.url, "qq=1").send(MESSAGE)
    assert fake.requests == []
