"""Aibotk: AIBOTK_TYPE picks the room or the contact endpoint."""

from __future__ import annotations

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.aibotk import Aibotk


def test_room_and_contact() -> None:
    clients = HttpClients(5)
    env = {"AIBOTK_KEY": "k" * 32, "AIBOTK_NAME": "Alice"}
    room = Aibotk({**env, "AIBOTK_TYPE": "room"}, clients=clients).request(Message("t", "c"))
    contact = Aibotk({**env, "AIBOTK_TYPE": "contact"}, clients=clients).request(Message("t", "c"))
    assert room.url.endswith("/openapi/v1/chat/room") and room.json["roomName"] == "Alice"
    assert contact.url.endswith("/openapi/v1/chat/contact") and contact.json["name"] == "Alice"
    assert room.json["message"] == {"type": 1, "content": "t\n\nc"}
