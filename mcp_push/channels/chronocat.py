"""Chronocat (Red protocol): POST {CHRONOCAT_URL}/api/message/send, one request per QQ target.

CHRONOCAT_QQ lists targets as QingLong does: ``user_id=10001;group_id=20002,20003``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from mcp_push.channels.base import (
    HttpChannel,
    HttpClients,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    excerpt,
    raise_for_http,
)
from mcp_push.channels.errors import PermanentError, TransientError

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


@dataclass
class _Progress:
    sent: dict[tuple[int, str], str] = field(default_factory=dict)  # target -> message id
    refused: dict[tuple[int, str], str] = field(default_factory=dict)  # target -> reason


class Chronocat(HttpChannel):
    id = "chronocat"
    name = "Chronocat"
    settings = (
        Setting("CHRONOCAT_URL", required=True, example="http://127.0.0.1:16530"),
        Setting("CHRONOCAT_QQ", required=True, example="user_id=10001;group_id=20002"),
        Setting("CHRONOCAT_TOKEN", required=True, secret=True, example="5f3c9a0e7b"),
    )

    def __init__(self, env: Mapping[str, str], *, clients: HttpClients, origin: str | None = None):
        super().__init__(env, clients=clients, origin=origin)
        # Per ticket, what each target answered, so an inline retry only resends to the ones still pending.
        self._progress: dict[str, _Progress] = {}

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
                "elements": [{"elementType": 1, "textElement": {"content": message.text}}],
            },
            headers={"Authorization": f"Bearer {self.get('CHRONOCAT_TOKEN')}"},
        )

    def send(self, message: Message) -> Receipt:
        self.request(message)  # validates CHRONOCAT_QQ
        targets = parse_targets(self.get("CHRONOCAT_QQ"))
        progress = self._progress.setdefault(message.ticket, _Progress())
        pending: dict[tuple[int, str], TransientError] = {}
        for target in targets:
            if target in progress.sent or target in progress.refused:
                continue
            try:
                receipt = self.interpret(self.perform(self._request_to(target, message)))
            except PermanentError as exc:
                progress.refused[target] = exc.reason
            except TransientError as exc:
                pending[target] = exc
            else:
                progress.sent[target] = receipt.provider_id or ""
        if not pending and not progress.refused:
            return Receipt(",".join(filter(None, progress.sent.values())) or None)
        problems = {**progress.refused, **{t: e.reason for t, e in pending.items()}}
        reason = f"sent to {len(progress.sent)} of {len(targets)} targets; " + "; ".join(
            f"{'user' if chat_type == 1 else 'group'} {uin}: {why}" for (chat_type, uin), why in problems.items()
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
