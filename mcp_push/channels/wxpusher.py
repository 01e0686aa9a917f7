"""WxPusher (微信推送): POST wxpusher.zjiecode.com/api/send/message, the app token in the JSON body.

WXPUSHER_TOPIC_IDS and WXPUSHER_UIDS are ``;``-separated; at least one of them is required.
WxPusher answers per recipient: those reached are marked served in the delivery's state, so a
retry sends only to the others, and the error names the ones not reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    RateLimit,
    Receipt,
    Setting,
    code_error,
    json_body,
    short_hash,
    truncate,
)
from mcp_push.channels.errors import PermanentError, TransientError

if TYPE_CHECKING:
    import httpx

API = "https://wxpusher.zjiecode.com/api/send/message"
MAX_CONTENT = 40_000
MAX_SUMMARY = 100
TEXT = 1
BUSY = (1006, 1008, 1009)  # a recipient not reached for now: worth another try
HINTS = {
    1001: "set WXPUSHER_APP_TOKEN",
    1002: "check WXPUSHER_APP_TOKEN (WxPusher admin → 应用管理 → appToken)",
    1004: "check WXPUSHER_UIDS / WXPUSHER_TOPIC_IDS: no such user or topic",
    1010: "add this machine's IP to the application's IP whitelist",
}


def split_ids(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(";") if part.strip()]


class WxPusher(HttpChannel):
    id = "wxpusher"
    name = "WxPusher"
    settings = (
        Setting("WXPUSHER_APP_TOKEN", required=True, secret=True, example="AT_qHT0cTQfLwYOlBV9cJj9zDSyEmspsmyM"),
        Setting("WXPUSHER_TOPIC_IDS", example="123;456"),
        Setting("WXPUSHER_UIDS", example="UID_xxx;UID_yyy"),
    )
    rate_limit = RateLimit(2, 1)  # about 2 requests a second per application

    @classmethod
    def missing(cls, env: Mapping[str, str]) -> list[str]:
        missing = super().missing(env)
        if not (split_ids(env.get("WXPUSHER_TOPIC_IDS", "")) or split_ids(env.get("WXPUSHER_UIDS", ""))):
            missing.append("WXPUSHER_TOPIC_IDS or WXPUSHER_UIDS")
        return missing

    def rate_key(self) -> str:
        return f"wxpusher:{short_hash(self.get('WXPUSHER_APP_TOKEN'))}"

    def request(self, message: Message) -> HttpRequest:
        return self._request(message, self._owed())

    def _owed(self) -> list[str]:
        """Recipients (``uid:…``, ``topic:…``) not yet reached by this delivery, in configured order."""
        done = self.state.done_targets()
        everyone = [f"topic:{t}" for t in split_ids(self.get("WXPUSHER_TOPIC_IDS"))]
        everyone += [f"uid:{u}" for u in split_ids(self.get("WXPUSHER_UIDS"))]
        return [r for r in everyone if r not in done]

    def _request(self, message: Message, owed: list[str]) -> HttpRequest:
        topics = [t.removeprefix("topic:") for t in owed if t.startswith("topic:")]
        payload: dict[str, Any] = {
            "appToken": self.get("WXPUSHER_APP_TOKEN"),
            "content": truncate(self.plain_text(message), MAX_CONTENT),
            "summary": truncate(" ".join(message.title.split()), MAX_SUMMARY),
            "contentType": TEXT,
            "topicIds": [int(t) if t.isdigit() else t for t in topics],
            "uids": [u.removeprefix("uid:") for u in owed if u.startswith("uid:")],
        }
        return HttpRequest("POST", API, json=payload)

    def send(self, message: Message) -> Receipt:
        owed = self._owed()
        if not owed:  # an earlier attempt reached everyone (its outcome was not recorded)
            return Receipt()
        response = self.perform(self._request(message, owed))
        body = json_body(response)
        if body.get("code", response.status_code) != 1000:
            self.interpret(response)  # raises the error the code means
        results = [r for r in body.get("data") or [] if isinstance(r, dict)]
        failed = {_recipient(r): r for r in results if r.get("code", 1000) != 1000}
        if all(who in owed for who in failed):  # else we cannot tell who got it: mark nobody
            for recipient in owed:
                if recipient not in failed:
                    self.state.mark_done(recipient)
        if not results or not failed:
            return self.interpret(response)
        reasons = "; ".join(f"{who.replace(':', ' ')}: {r.get('status') or r.get('code')}" for who, r in failed.items())
        reason = f"WxPusher did not reach {len(failed)} of {len(owed)} recipients: {reasons}"
        if all(r.get("code") in BUSY for r in failed.values()):
            raise TransientError(reason)
        raise PermanentError(reason)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        code = body.get("code", response.status_code)
        text = str(body.get("msg", ""))
        if code == 1000:
            results = [r for r in body.get("data") or [] if isinstance(r, dict)]
            sent = [r for r in results if r.get("code", 1000) == 1000]
            if results and not sent:
                reasons = "; ".join(sorted({str(r.get("status") or r.get("code")) for r in results}))
                raise PermanentError(f"WxPusher accepted the request but reached no recipient: {reasons}")
            first = sent[0] if sent else {}
            return Receipt(str(first.get("messageContentId") or first.get("messageId") or "") or None)
        raise code_error(
            response, code, text, permanent=HINTS, transient={1006: None, 1009: None}, rate_limited={1008: 1.0}
        )


def _recipient(result: dict[str, Any]) -> str:
    """How a per-recipient result names its recipient in the delivery's progress."""
    return f"uid:{result['uid']}" if result.get("uid") else f"topic:{result.get('topicId')}"
