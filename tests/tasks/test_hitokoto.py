"""HITOKOTO=true appends a sentence; a slow or broken API never holds a notification back."""

from __future__ import annotations

import pytest

from mcp_push.channels import HttpClients
from mcp_push.tasks.hitokoto import Hitokoto
from tests.conftest import settings_for
from tests.fakes.base import FakeProvider, Recorded, Reply


class FakeHitokoto(FakeProvider):
    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "ok":
            return Reply(200, {"id": 1, "hitokoto": "千里之行，始于足下。", "from": "老子"})
        return Reply(500, "oops")


@pytest.fixture
def fake():
    provider = FakeHitokoto().start()
    yield provider
    provider.stop()


def test_appends_once_per_ticket(fake, tmp_path) -> None:
    clients = HttpClients(5)
    h = Hitokoto(settings_for(tmp_path, {"HITOKOTO": "true", "MCP_PUSH_ORIGIN_HITOKOTO": fake.url}), clients)
    first = h.decorate("tk-1", "Build done")
    assert first == "Build done\n\n千里之行，始于足下。    ----老子"
    assert h.decorate("tk-1", "Build done") == first
    assert len(fake.requests) == 1
    clients.close()


@pytest.mark.parametrize("mode", ["broken", "slow"])
def test_failure_or_slowness_sends_without_it(fake, mode, tmp_path) -> None:
    if mode == "slow":
        fake.delay = 3.0
    else:
        fake.default_mode = "transient"
    clients = HttpClients(5)
    h = Hitokoto(settings_for(tmp_path, {"HITOKOTO": "true", "MCP_PUSH_ORIGIN_HITOKOTO": fake.url}), clients)
    # Without the 1 s cap the slow provider's quote (after 3 s) would decorate the title.
    assert h.decorate("tk-1", "Build done") == "Build done"
    clients.close()


def test_disabled_by_default(fake, tmp_path) -> None:
    h = Hitokoto(settings_for(tmp_path, {"MCP_PUSH_ORIGIN_HITOKOTO": fake.url}), HttpClients(5))
    assert h.decorate("tk-1", "x") == "x"
    assert fake.requests == []
