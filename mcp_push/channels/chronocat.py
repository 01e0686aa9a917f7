"""Chronocat (Red protocol): POST {CHRONOCAT_URL}/api/message/send, one request per QQ target.

CHRONOCAT_QQ lists targets as QingLong does: ``user_id=10001;group_id=20002,20003``. Each
target served is marked in the delivery's state, so a retry (inline or hours later in
another worker) sends only to the targets still owed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    excerpt,
    raise_for_http,
)
from mcp_push.channels.errors import PermanentError, TransientError

if TYPE_CHECKING:
    import httpx

CHAT_TYPES = {"user_id": 1, "group_id": 2}
_TARGETS = re.compile(r"(user_id|group_id)\s*=\s*([0-9][0-9,\s]*)")


def parse_targets(raw: str) -> list[tuple[int, str]]:
    """Every (chatType, peerUin) named in CHRONOCAT_QQ, in order, without duplicates."""
    found: list[tuple[int, str]] = []
    for key, ids in _TARGETS.findall(raw):
        for uin in re.split(r"[,\s]+", ids.strip()):
            if uin and (CHAT_TYPES[key], uin) not in found:
                found.append((CHAT_TYPES[key], uin))
    return found


def target_key(target: tuple[int, str]) -> str:
    """How a target is named in the delivery's progress (``user:10001``, ``group:20002``)."""
    chat_type, uin = target
    return f"{'user' if chat_type == 1 else 'group'}:{uin}"


class Chronocat(HttpChannel):
    id = "chronocat"
    name = "Chronocat"
    settings = (
        Setting("CHRONOCAT_URL", required=True, example="http://127.0.0.1:16530"),
        Setting("CHRONOCAT_QQ", required=True, example="user_id=10001;group_id=20002"),
        Setting("CHRONOCAT_TOKEN", required=True, secret=True, example="5f3c9a0e7b"),
    )

    def __init__(self, env: Mapping[str, str], **kwargs: Any):
        super().__init__(env, **kwargs)
        # Targets that refused this message during this task: an inline retry does not ask them again.
        # Served targets are in ``self.state``, which a retry in another process sees too.
        self._refused: dict[str, str] = {}

    def request(self, message: Message) -> HttpRequest:
        targets = parse_targets(self.get("CHRONOCAT_QQ"))
        if not targets:
            raise PermanentError("CHRONOCAT_QQ names no target; use user_id=10001 and/or group_id=20002")
        return self._request_to(targets[0], message)

    def _request_to(self, target: tuple[int, str], message: Message) -> HttpRequest:
        chat_type, uin = target
        return HttpRequest(
            "POST",
            self.get("CHRONOCAT_URL").rstrip("/") + "/api/message/send",
            json={
                "peer": {"chatType": chat_type, "peerUin": uin},
                "elements": [{"elementType": 1, "textElement": {"content": self.plain_text(message)}}],
            },
            headers={"Authorization": f"Bearer {self.get('CHRONOCAT_TOKEN')}"},
        )

    def send(self, message: Message) -> Receipt:
        self.request(message)  # validates CHRONOCAT_QQ
        targets = parse_targets(self.get("CHRONOCAT_QQ"))
        done = self.state.done_targets()
        sent: list[str] = []
        pending: dict[str, TransientError] = {}
        for target in targets:
            key = target_key(target)
            if key in done or key in self._refused:
                continue
            try:
                receipt = self.interpret(self.perform(self._request_to(target, message)))
            except PermanentError as exc:
                self._refused[key] = exc.reason
            except TransientError as exc:
                pending[key] = exc
            else:
                self.state.mark_done(key)
                done.add(key)
                sent.append(receipt.provider_id or "")
        if not pending and not self._refused:
            return Receipt(",".join(filter(None, sent)) or None)
        problems = {**self._refused, **{key: e.reason for key, e in pending.items()}}
        reason = f"sent to {len(done)} of {len(targets)} targets; " + "; ".join(
            f"{key.replace(':', ' ')}: {why}" for key, why in problems.items()
        )
        if pending:
            waits = [e.retry_after for e in pending.values() if e.retry_after is not None]
            raise TransientError(reason, retry_after=max(waits) if waits else None)
        raise PermanentError(reason)

    def interpret(self, response: httpx.Response) -> Receipt:
        # Chronocat documents only the status; keep the message id when the body carries one.
        if response.status_code in (401, 403):
            reason = excerpt(response) or "token refused"
            raise_for_http(response, f"{reason}; copy CHRONOCAT_TOKEN from Chronocat's config.yml")
        raise_for_http(response)
        try:
            body = response.json()
        except ValueError:
            return Receipt()
        if isinstance(body, dict) and body.get("msgId"):
            return Receipt(str(body["msgId"]))
        if isinstance(body, dict) and body.get("error"):
            raise PermanentError(f"Chronocat answered HTTP {response.status_code} with an error: {excerpt(response)}")
        return Receipt()
