"""Feishu's custom bot hook, with signature checking (签名校验) switched on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "5f0e8c1a-3b2d-4e6f-9a7b-c8d9e0f1a2b3"
SECRET = "kT9vQ2xZr8LmN4pW6sY1"
SIGN_FAIL = Reply(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


class FakeFeishu(FakeProvider):
    replies = {
        "ok": Reply(200, {"code": 0, "data": {}, "msg": "success"}),
        "permanent": Reply(200, {"code": 19024, "data": {}, "msg": "Key Words Not Found"}),
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(
            200, {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}
        ),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/open-apis/bot/v2/hook/{TOKEN}":
            raise Rejected(
                f"bad request line {request.method} {request.path}",
                Reply(200, {"code": 19001, "data": {}, "msg": "param invalid: incoming webhook access token invalid"}),
            )
        if len(request.body) > 20 * 1024:
            raise Rejected("body too large", Reply(200, {"code": 9499, "data": {}, "msg": "Bad Request"}))
        body = request.json()
        timestamp = str(body.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            raise Rejected("stale or missing timestamp", SIGN_FAIL)
        if body.get("sign") != expected_sign(timestamp):
            raise Rejected("bad signature", SIGN_FAIL)
        problem = _body_problem(body)
        if problem:
            raise Rejected(
                f"{problem}: {str(body)[:200]}", Reply(200, {"code": 9499, "data": {}, "msg": "Bad Request"})
            )


TEMPLATES = {
    "blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple", "indigo",
    "grey", "default",
}  # fmt: skip


def _body_problem(body: dict) -> str | None:
    """What Feishu refuses: text without text; a card without a header title, with an unknown
    template, without elements, or with an element that lacks its required fields."""
    kind = body.get("msg_type")
    if kind == "text":
        return None if (body.get("content") or {}).get("text") else "text without text"
    if kind != "interactive":
        return f"unsupported msg_type {kind!r}"
    card = body.get("card")
    if not isinstance(card, dict):
        return "interactive without a card"
    header = card.get("header") or {}
    title = header.get("title") or {}
    if title.get("tag") not in ("plain_text", "lark_md") or not title.get("content"):
        return "card header without a title"
    if header.get("template", "default") not in TEMPLATES:
        return f"unknown header template {header.get('template')!r}"
    elements = card.get("elements")
    if not isinstance(elements, list) or not elements:
        return "card without elements"
    for element in elements:
        tag = element.get("tag")
        if tag == "markdown" and not element.get("content"):
            return "markdown element without content"
        if tag == "note" and not element.get("elements"):
            return "note without elements"
        if tag == "action":
            for button in element.get("actions") or [None]:
                if not button or button.get("tag") != "button" or not (button.get("text") or {}).get("content"):
                    return "action without a labelled button"
                if not str(button.get("url", "")).startswith(("http://", "https://")):
                    return "button without an http(s) url"
        if tag not in ("markdown", "note", "action", "hr", "div"):
            return f"unknown element {tag!r}"
    return None


CASE = ChannelCase(
    channel="feishu",
    fake=FakeFeishu,
    env=lambda url: {"FSKEY": TOKEN, "FSSECRET": SECRET, "MCP_PUSH_ORIGIN_FEISHU": url},
    secrets=(TOKEN, SECRET),
    permanent_reason="Key Words Not Found",
    rate_wait=3.0,
)
