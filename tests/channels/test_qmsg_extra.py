"""Qmsg: QMSG_TYPE must be send or group."""

from __future__ import annotations

from mcp_push.channels.qmsg import Qmsg


def test_type_must_be_send_or_group() -> None:
    assert Qmsg.enabled({"QMSG_KEY": "k" * 32, "QMSG_TYPE": "group"})
    assert Qmsg.missing({"QMSG_KEY": "k" * 32, "QMSG_TYPE": "private"}) == ["QMSG_TYPE (send or group)"]
    assert Qmsg.missing({"QMSG_KEY": "k" * 32}) == ["QMSG_TYPE"]
