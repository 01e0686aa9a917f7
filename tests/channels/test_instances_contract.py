"""Every channel's second account against its fake provider: the contract case's variables renamed
to their ``_2`` forms (and nothing else set) make ``<id>:2``, which delivers as instance 1 does, with
the same request checks, while instance 1 stays unconfigured; its secrets stay out of the ledger."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients, all_channels, enabled_ids, get_channel_class
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from tests.channels.test_contract import CASES
from tests.conftest import FakeClock, settings_for
from tests.fakes.base import ChannelCase


def numbered(case: ChannelCase, url: str, number: int) -> dict[str, str]:
    """The case's environment for account ``number``: each declared variable NAME as NAME_<number>."""
    declared = {s.name for s in all_channels()[case.channel].settings}
    return {(f"{k}_{number}" if k in declared else k): v for k, v in case.env(url).items()}


@pytest.fixture(params=CASES, ids=[c.channel for c in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[ChannelCase]:
    yield request.param


def test_the_second_account_delivers_alone(case: ChannelCase, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake = case.fake().start()
    clients = HttpClients(5)
    ledger = None
    try:
        fake.configure(case.env(fake.url))  # what the provider checks, by the plain names it knows
        env = numbered(case, fake.url, 2)
        settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "5"})
        channel = f"{case.channel}:2"
        assert channel in enabled_ids(settings.env) and case.channel not in enabled_ids(settings.env)
        assert get_channel_class(channel) is all_channels()[case.channel].instance(2)
        ledger = SqliteLedger(settings.ledger_path)
        clock = FakeClock(time.time())
        deliverer = Deliverer(
            settings, ledger, clients, "test-owner", lambda i, d: None, clock=clock, sleep=clock.sleep
        )
        record, _ = ledger.create_ticket(
            NewTicket("tk-1", "run-1", "Build finished", "All 42 passed.", clock(), (channel,))
        )
        delivery_id = record.deliveries[0].id
        outcome = deliverer.run(delivery_id)
        delivery = ledger.get_delivery(delivery_id)
        assert delivery is not None
        assert (outcome, delivery.last_error) == ("delivered", None)
        assert fake.problems == [] and fake.requests
        stored = "\n".join(
            repr(row) for t in ("tickets", "deliveries", "attempts", "rate_slots") for row in ledger.dump_table(t)
        )
        for secret in case.secrets:
            assert secret not in stored and secret not in caplog.text, f"{channel}: a secret leaked"
    finally:
        clients.close()
        if ledger is not None:
            ledger.close()
        fake.stop()


def test_the_second_account_reports_the_providers_failure_with_its_own_names(case: ChannelCase, tmp_path) -> None:
    fake = case.fake().start()
    clients = HttpClients(5)
    ledger = None
    try:
        fake.configure(case.env(fake.url))
        fake.default_mode = "permanent"
        settings = settings_for(tmp_path / "home", {**numbered(case, fake.url, 3), "MCP_PUSH_HTTP_TIMEOUT": "5"})
        ledger = SqliteLedger(settings.ledger_path)
        clock = FakeClock(time.time())
        deliverer = Deliverer(
            settings, ledger, clients, "test-owner", lambda i, d: None, clock=clock, sleep=clock.sleep
        )
        channel = f"{case.channel}:3"
        record, _ = ledger.create_ticket(NewTicket("tk-1", "run-1", "t", "c", clock(), (channel,)))
        assert deliverer.run(record.deliveries[0].id) == "failed"
        delivery = ledger.get_delivery(record.deliveries[0].id)
        assert delivery is not None and case.permanent_reason in (delivery.last_error or "")
        declared = [s.name for s in all_channels()[case.channel].settings]
        named = [n for n in declared if re.search(rf"(?<![A-Za-z0-9_]){n}(?![A-Za-z0-9_])", delivery.last_error or "")]
        assert not named, f"{channel}: the error names instance 1's {named}: {delivery.last_error}"
    finally:
        clients.close()
        if ledger is not None:
            ledger.close()
        fake.stop()
