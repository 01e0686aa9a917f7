"""ntfy: non-ASCII Title and Actions go RFC 2047-encoded, as the original sends them and ntfy decodes them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.ntfy import Ntfy
from tests.fakes.ntfy import PASSWORD, TOKEN, TOPIC, USERNAME, FakeNtfy

ACTIONS = "view, 打开 CI, https://ci.example.com/runs/42"


@pytest.fixture
def fake() -> Iterator[FakeNtfy]:
    fake = FakeNtfy().start()
    yield fake
    fake.stop()


def send(fake: FakeNtfy, clients: HttpClients, message: Message, **env: str) -> None:
    settings = {"NTFY_URL": fake.url, "NTFY_TOPIC": TOPIC, "NTFY_TOKEN": TOKEN, **env}
    fake.configure(settings)
    Ntfy(settings, clients=clients).send(message)


def test_non_ascii_actions_and_title_are_rfc2047_encoded(fake: FakeNtfy, clients: HttpClients) -> None:
    send(fake, clients, Message("构建完成 ✅", "全部通过"), NTFY_ACTIONS=ACTIONS)
    assert fake.problems == []
    (request,) = fake.requests
    for name in ("title", "actions"):
        assert request.headers[name].isascii() and request.headers[name].startswith("=?utf-8?")
    assert (request.header("title"), request.header("actions")) == ("构建完成 ✅", ACTIONS)
    assert request.body.decode() == "全部通过"


def test_ascii_headers_go_as_written(fake: FakeNtfy, clients: HttpClients) -> None:
    actions = "view, Open CI, https://ci.example.com"
    send(fake, clients, Message("Build done", "ok"), NTFY_ACTIONS=actions, NTFY_PRIORITY="4")
    assert fake.problems == []
    (request,) = fake.requests
    assert (request.headers["title"], request.headers["actions"], request.headers["priority"]) == (
        "Build done",
        actions,
        "4",
    )


def test_basic_auth_when_there_is_no_token(fake: FakeNtfy, clients: HttpClients) -> None:
    settings = {"NTFY_URL": fake.url, "NTFY_TOPIC": TOPIC, "NTFY_USERNAME": USERNAME, "NTFY_PASSWORD": PASSWORD}
    Ntfy(settings, clients=clients).send(Message("t", "c"))
    assert fake.problems == []
