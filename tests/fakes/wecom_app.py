"""WeCom's gettoken and message/send endpoints.

gettoken is answered outside the mode script and kept apart from ``requests`` (in
``token_requests``), so the contract suite counts message sends only.
"""

from __future__ import annotations

import itertools
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

CORPID = "ww5f3c1a2b4d6e8f0a"
CORPSECRET = "kT9vQ2xZr8LmN4pW6sY1aB3cD5eF7gH9iJ0kL2mN4oP"
TOUSER = "ZhangSan|LiSi"
AGENTID = "1000002"
TOKEN_PREFIX = "wecom-access-token-7f3a9c"


class FakeWeComApp(FakeProvider):
    replies = {
        "ok": Reply(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "msgid-x1Y2z3"}),
        "permanent": Reply(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}),
        "transient": Reply(200, {"errcode": -1, "errmsg": "system busy"}),
        "rate_limited": Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
    }

    def __init__(self) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.expires_in = 7200
        self.invalid_users: set[str] = set()  # users WeCom reports in ``invaliduser``
        self._serial = itertools.count(1)
        super().__init__()

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        """As WeCom answers a send that reached only some users: ``invaliduser`` names the others."""
        invalid = [u for u in str(request.json().get("touser", "")).split("|") if u in self.invalid_users]
        if mode == "ok" and invalid:
            return Reply(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": "msgid-part"})
        return super().reply_for(mode, request)

    def expire_tokens(self) -> None:
        """Every token issued so far is now answered with 42001."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def token_reply(self, query: dict[str, list[str]]) -> Reply:
        self.token_requests.append(query)
        if query.get("corpid") != [CORPID]:
            with self._lock:
                self.problems.append("gettoken: bad corpid")
            return Reply(200, {"errcode": 40013, "errmsg": "invalid corpid"})
        if query.get("corpsecret") != [CORPSECRET]:
            with self._lock:
                self.problems.append("gettoken: bad corpsecret")
            return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
        token = f"{TOKEN_PREFIX}-{next(self._serial)}"
        self.valid_tokens.add(token)
        return Reply(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in})

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/cgi-bin/message/send":
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        token = request.param("access_token") or ""
        if token in self.expired_tokens:
            raise Rejected("expired token", Reply(200, {"errcode": 42001, "errmsg": "access_token expired"}))
        if token not in self.valid_tokens:
            raise Rejected("bad token", Reply(200, {"errcode": 40014, "errmsg": "invalid access_token"}))
        body = request.json()
        asked = str(body.get("touser") or "").split("|")
        if not set(asked) <= set(TOUSER.split("|")) or "" in asked or str(body.get("agentid")) != AGENTID:
            raise Rejected(f"bad recipients {body}", Reply(200, {"errcode": 40056, "errmsg": "invalid agentid"}))
        kind = body.get("msgtype")
        if kind == "text":
            content = (body.get("text") or {}).get("content") or ""
            if not content or len(content.encode()) > 2048:
                raise Rejected("bad text", Reply(200, {"errcode": 44004, "errmsg": "text content is empty or long"}))
        elif kind != "mpnews" or not (body.get("mpnews") or {}).get("articles"):
            raise Rejected(f"bad msgtype {kind}", Reply(200, {"errcode": 40008, "errmsg": "invalid message type"}))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base: Any = super()._handler_class()
        fake = self

        class Handler(base):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/cgi-bin/gettoken":
                    base._handle(self)
                    return
                payload, content_type = fake.token_reply(parse_qs(parts.query)).encoded()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        return Handler


CASE = ChannelCase(
    channel="wecom_app",
    fake=FakeWeComApp,
    env=lambda url: {"QYWX_AM": f"{CORPID},{CORPSECRET},{TOUSER},{AGENTID}", "MCP_PUSH_ORIGIN_WECOM_APP": url},
    secrets=(CORPSECRET, TOKEN_PREFIX),
    permanent_reason="all invalid",
    rate_wait=60.0,
)
