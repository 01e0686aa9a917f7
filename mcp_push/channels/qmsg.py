"""Qmsg酱 (QQ messages): POST qmsg.zendee.cn/{QMSG_TYPE}/{QMSG_KEY}, form field ``msg``.

The key travels in the URL path: a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body

API = "https://qmsg.zendee.cn"
TYPES = ("send", "group")  # private message, group message


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
            missing.append("QMSG_TYPE (send or group)")
        return missing

    def request(self, message: Message) -> HttpRequest:
        return HttpRequest("POST", f"{API}/{self.get('QMSG_TYPE')}/{self.get('QMSG_KEY')}", data={"msg": message.text})

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        if code == 0 and body.get("success", True):
            return Receipt()
        raise code_error(response, code, str(body.get("reason", "")))
