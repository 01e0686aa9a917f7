"""Qmsg酱's /{type}/{key} endpoints.

``send``/``group`` (and the Plus ``psend``/``pgroup``) read ``msg`` as a request parameter,
from the form body or the query string (the original mcp-push put it in the query);
``jsend``/``jgroup`` read a JSON body ``{"msg": ...}``. Any other type is not an endpoint.
"""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
FORM_TYPES = ("send", "group", "psend", "pgroup")
JSON_TYPES = ("jsend", "jgroup")
BAD_KEY = Reply(200, {"success": False, "reason": "KEY不正确或者已经失效", "code": 500, "info": {}})
EMPTY = Reply(200, {"success": False, "reason": "消息内容不能为空", "code": 500})


class FakeQmsg(FakeProvider):
    replies = {
        "ok": Reply(200, {"success": True, "reason": "操作成功", "code": 0, "info": {}}),
        "permanent": BAD_KEY,
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
    }

    def check(self, request: Recorded) -> None:
        kind, _, key = request.path.strip("/").partition("/")
        if request.method != "POST" or kind not in FORM_TYPES + JSON_TYPES:
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, "Not Found"))
        if key != KEY:
            raise Rejected("bad key", BAD_KEY)
        if kind in JSON_TYPES:
            if "application/json" not in request.headers.get("content-type", ""):
                raise Rejected(f"{kind} wants a JSON body", EMPTY)
            msg = (request.json() or {}).get("msg")
        else:
            msg = request.form().get("msg") or request.param("msg")
        if not msg:
            raise Rejected("empty msg", EMPTY)


CASE = ChannelCase(
    channel="qmsg",
    fake=FakeQmsg,
    env=lambda url: {"QMSG_KEY": KEY, "QMSG_TYPE": "send", "MCP_PUSH_ORIGIN_QMSG": url},
    secrets=(KEY,),
    permanent_reason="KEY不正确",
)
