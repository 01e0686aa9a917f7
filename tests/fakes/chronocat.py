"""Chronocat's Red-protocol HTTP API, POST /api/message/send with a Bearer token."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "c8f0d6a4b2e19f7a"
QQ = "123456789"


class FakeChronocat(FakeProvider):
    replies = {
        "permanent": Reply(401, "Unauthorized"),
        "transient": Reply(500, {"error": "QQNT not ready"}),
    }

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "ok":
            peer = request.json()["peer"]
            return Reply(
                200, {"msgId": "7301234567890123456", "chatType": peer["chatType"], "peerUin": peer["peerUin"]}
            )
        return self.replies[mode]

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/api/message/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            raise Rejected("bad token", Reply(401, "Unauthorized"))
        body = request.json()
        peer, elements = body.get("peer") or {}, body.get("elements") or []
        if peer.get("chatType") not in (1, 2) or not str(peer.get("peerUin", "")).isdigit():
            raise Rejected(f"bad peer {peer}", Reply(400, "Bad Request"))
        if not elements or elements[0].get("elementType") != 1 or not elements[0]["textElement"]["content"]:
            raise Rejected("no text element", Reply(400, "Bad Request"))


CASE = ChannelCase(
    channel="chronocat",
    fake=FakeChronocat,
    env=lambda url: {"CHRONOCAT_URL": url, "CHRONOCAT_QQ": f"user_id={QQ}", "CHRONOCAT_TOKEN": TOKEN},
    secrets=(TOKEN,),
    permanent_reason="Unauthorized",
)
