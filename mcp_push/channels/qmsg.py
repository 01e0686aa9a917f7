"""Qmsg酱 (QQ messages): POST qmsg.zendee.cn/{QMSG_TYPE}/{QMSG_KEY}.

QMSG_TYPE is the endpoint: ``send`` (private) and ``group`` take the form field ``msg``, as do
the Plus endpoints ``psend`` and ``pgroup``; the JSON endpoints ``jsend`` and ``jgroup`` take
``{"msg": ...}``. The key travels in the URL path: a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

if TYPE_CHECKING:
    import httpx

API = "https://qmsg.zendee.cn"
FORM_TYPES = ("send", "group", "psend", "pgroup")  # private, group, and the same for Plus keys
JSON_TYPES = ("jsend", "jgroup")  # private and group, JSON body
TYPES = FORM_TYPES + JSON_TYPES


class Qmsg(HttpChannel):
    id = "qmsg"
    name = "Qmsg"
    settings = (
        Setting("QMSG_KEY", required=True, secret=True, example="e8b1c2d3f4a5b6c7d8e9f0a1b2c3d4e5"),
        Setting("QMSG_TYPE", required=True, example="send"),
    )

    @classmethod
    def missing(cls, env: Mapping[str, str]) -> list[str]:
        missing = super().missing(env)
        if "QMSG_TYPE" not in missing and env.get("QMSG_TYPE", "").strip() not in TYPES:
            missing.append(f"QMSG_TYPE ({', '.join(TYPES[:-1])} or {TYPES[-1]})")
        return missing

    def request(self, message: Message) -> HttpRequest:
        kind = self.get("QMSG_TYPE")
        url = f"{API}/{kind}/{self.get('QMSG_KEY')}"
        if kind in JSON_TYPES:
            return HttpRequest("POST", url, json={"msg": self.plain_text(message)})
        return HttpRequest("POST", url, data={"msg": self.plain_text(message)})

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        if code == 0 and body.get("success", True):
            return Receipt()
        raise code_error(response, code, str(body.get("reason", "")))
