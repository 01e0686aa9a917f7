"""Qmsg: every endpoint the service has posts to /{QMSG_TYPE}/{QMSG_KEY}, in the shape that endpoint reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients, Message, PermanentError
from mcp_push.channels.qmsg import TYPES, Qmsg
from tests.fakes.qmsg import KEY, FakeQmsg

MESSAGE = Message("构建完成", "All tests passed.\n第二行")


@pytest.fixture
def fake() -> Iterator[FakeQmsg]:
    fake = FakeQmsg().start()
    yield fake
    fake.stop()


def test_type_must_be_one_of_the_endpoints() -> None:
    assert set(TYPES) == {"send", "group", "jsend", "jgroup", "psend", "pgroup"}
    for kind in TYPES:
        assert Qmsg.enabled({"QMSG_KEY": "k" * 32, "QMSG_TYPE": kind})
    assert Qmsg.missing({"QMSG_KEY": "k" * 32, "QMSG_TYPE": "private"}) == [
        "QMSG_TYPE (send, group, psend, pgroup, jsend or jgroup)"
    ]
    assert Qmsg.missing({"QMSG_KEY": "k" * 32}) == ["QMSG_TYPE"]


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_posts_to_its_endpoint(fake: FakeQmsg, clients: HttpClients, kind: str) -> None:
    Qmsg({"QMSG_KEY": KEY, "QMSG_TYPE": kind}, clients=clients, origin=fake.url).send(MESSAGE)
    assert fake.problems == []
    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", f"/{kind}/{KEY}")
    msg = request.json()["msg"] if kind.startswith("j") else request.form()["msg"]
    assert msg == "构建完成\n\nAll tests passed.\n第二行"  # title, a blank line, the content (as the original)


def test_the_fake_refuses_an_endpoint_qmsg_does_not_have(fake: FakeQmsg, clients: HttpClients) -> None:
    channel = Qmsg({"QMSG_KEY": KEY, "QMSG_TYPE": "private"}, clients=clients, origin=fake.url)
    with pytest.raises(PermanentError, match="HTTP 404"):
        channel.send(MESSAGE)
    assert fake.problems == ["bad request line POST /private/" + KEY]
