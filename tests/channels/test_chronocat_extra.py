"""Chronocat sends one request per target; a retry, inline or rescheduled, resends only to the targets owed."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from mcp_push.channels import HttpClients, PermanentError, TransientError
from mcp_push.channels.base import Message
from mcp_push.channels.chronocat import Chronocat, parse_targets
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from tests.conftest import FakeClock, settings_for
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


def test_a_rescheduled_delivery_does_not_resend_to_served_targets(fake, tmp_path) -> None:
    """Progress is in the ledger: the retry hours later (a new channel object, as in another worker) skips 111."""
    env = {"CHRONOCAT_URL": fake.url, "CHRONOCAT_QQ": "user_id=111;group_id=222", "CHRONOCAT_TOKEN": TOKEN}
    settings = settings_for(tmp_path / "home", env)
    ledger = SqliteLedger(settings.ledger_path)
    clients, clock, enqueued = HttpClients(5), FakeClock(time.time()), []
    deliverer = Deliverer(
        settings, ledger, clients, "w", lambda i, d: enqueued.append((i, d)), clock=clock, sleep=clock.sleep
    )
    try:
        record, _ = ledger.create_ticket(NewTicket("tk-1", "run-1", "Build", "done", clock(), ("chronocat",)))
        did = record.deliveries[0].id
        fake.script("ok")
        fake.default_mode = "transient"  # group 222 stays down for this whole task
        assert deliverer.run(did) == "retrying"
        assert ledger.targets_done(did) == {"user:111"}
        fake.default_mode = "ok"
        clock.now = enqueued[-1][1] + clock.now + 1
        assert deliverer.run(did) == "delivered"
        per_target = Counter(r.json()["peer"]["peerUin"] for r in fake.requests)
        assert per_target["111"] == 1 and per_target["222"] == settings.try_attempts + 1
        assert fake.problems == []
        d = ledger.get_delivery(did)
        assert d and d.status == "delivered" and d.provider_id == "7301234567890123456"
    finally:
        clients.close()
        ledger.close()
