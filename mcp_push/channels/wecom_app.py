"""WeCom application message (企业微信应用消息): gettoken, then POST /cgi-bin/message/send.

QYWX_AM is ``corpid,corpsecret,touser,agentid[,media_id]``. The access token is cached in the
channel's state (the ledger, when a worker sends: one token for every process) until it
expires, since fetching one per message trips 45009; the cache key is a hash of the origin,
corpid and agentid, and the token is stored sealed with a key derived from the corpsecret
(see seal.py), so the ledger never holds a usable token. A token WeCom calls invalid or expired (40014/42001) is
refreshed once and the message resent. Recipients WeCom reports invalid are named in the
error; those it reached are marked served, so a retry sends only to the others.
"""

from __future__ import annotations

import hashlib
import html
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    code_error,
    json_body,
    truncate,
    with_origin,
)
from mcp_push.channels.errors import DeliveryError, PermanentError
from mcp_push.channels.redact import Redactor
from mcp_push.channels.seal import seal, unseal

if TYPE_CHECKING:
    import httpx

DEFAULT_ORIGIN = "https://qyapi.weixin.qq.com"
MAX_TEXT_BYTES = 2048
TOKEN_ERRORS = (40014, 42001)
HINTS = {
    40001: "check the corpsecret in QYWX_AM (the application's Secret)",
    40013: "check the corpid in QYWX_AM (我的企业 → 企业ID)",
    60020: "add this machine's public IP to the application's 企业可信IP",
    81013: "check the touser in QYWX_AM: no recipient is valid or in the application's visible range",
}

# One gettoken at a time in this process (others then find the token in the cache).
_FETCH_LOCK = threading.Lock()


@dataclass(frozen=True)
class AppConfig:
    corpid: str
    corpsecret: str
    touser: str
    agentid: str
    media_id: str = ""


def parse_am(raw: str) -> AppConfig | None:
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) < 4 or not all(parts[:4]):
        return None
    return AppConfig(*parts[:4], media_id=parts[4] if len(parts) > 4 else "")


def raise_for_code(response: httpx.Response, body: Mapping[str, Any]) -> None:
    code = body.get("errcode", response.status_code)
    if code == 0:
        return
    text = str(body.get("errmsg", ""))
    # A token still refused after one refresh: the next attempt fetches a new one.
    busy: dict[Any, float | None] = {-1: None, 6000: None, **dict.fromkeys(TOKEN_ERRORS)}
    raise code_error(response, code, text, permanent=HINTS, transient=busy, rate_limited={45009: 60.0})


class WeComApp(HttpChannel):
    id = "wecom_app"
    name = "WeCom application"
    settings = (
        Setting("QYWX_AM", required=True, secret=True, example="ww5f3c1a2b4d6e8f0a,kT9vQ2xZr8LmN4pW6sY1,@all,1000002"),
        Setting("QYWX_ORIGIN", example="https://qyapi.weixin.qq.com"),
    )

    _token: str | None = None  # the access token this object used (masked in its errors)

    @classmethod
    def missing(cls, env: Mapping[str, str]) -> list[str]:
        missing = super().missing(env)
        if not missing and parse_am(env.get("QYWX_AM", "")) is None:
            return ["QYWX_AM (as corpid,corpsecret,touser,agentid[,media_id])"]
        return missing

    @property
    def config(self) -> AppConfig:
        config = parse_am(self.get("QYWX_AM"))
        if config is None:
            raise PermanentError("QYWX_AM must be corpid,corpsecret,touser,agentid[,media_id]")
        return config

    def _base(self) -> str:
        return self.get("QYWX_ORIGIN", DEFAULT_ORIGIN).rstrip("/")

    def _cache_key(self) -> str:
        config = self.config
        origin = with_origin(self._base() + "/", self.origin)
        raw = "\x1f".join((origin, config.corpid, config.agentid))
        return "wecom_app:token:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]

    def secret_values(self) -> list[str]:
        config = parse_am(self.get("QYWX_AM"))
        if config is None:
            return super().secret_values()
        return [*super().secret_values(), config.corpsecret, *([self._token] if self._token else [])]

    def token(self, stale: str | None = None) -> str:
        """A valid access token: the cached one unless it expired or is ``stale`` (just refused)."""
        key = self._cache_key()
        with _FETCH_LOCK:
            sealed = self.state.cached(key)
            token = None if sealed is None else unseal(self.config.corpsecret, sealed)
            if token is None or token == stale:
                token, lifetime = self._fetch_token()
                ttl = lifetime - min(300.0, lifetime / 10)
                if ttl > 0:
                    self.state.cache(key, seal(self.config.corpsecret, token), ttl)
        if token != self._token:
            self._token = token
            self.redact = Redactor(self.secret_values())
        return token

    def _fetch_token(self) -> tuple[str, float]:
        config = self.config
        response = self.perform(
            HttpRequest(
                "GET",
                f"{self._base()}/cgi-bin/gettoken",
                params={"corpid": config.corpid, "corpsecret": config.corpsecret},
            )
        )
        body = json_body(response)
        raise_for_code(response, body)
        if not body.get("access_token"):
            raise PermanentError(f"gettoken answered without an access_token: {str(body)[:200]}")
        return str(body["access_token"]), _seconds(body.get("expires_in"))

    def request(self, message: Message) -> HttpRequest:
        return self._message_request(self.token(), message, self.config.touser)

    def _message_request(self, token: str, message: Message, touser: str) -> HttpRequest:
        config = self.config
        payload: dict[str, Any] = {
            "touser": touser,
            "agentid": int(config.agentid) if config.agentid.isdigit() else config.agentid,
            "safe": 0,
        }
        if config.media_id:
            content = html.escape(self.render_body(message) or message.title).replace("\n", "<br/>")
            article = {
                "title": truncate(message.title, 128, unit="bytes"),
                "thumb_media_id": config.media_id,
                "author": "mcp-push",
                "content_source_url": "",
                "content": content,
                "digest": truncate(self.render_body(message) or message.title, 512, unit="bytes"),
            }
            payload.update(msgtype="mpnews", mpnews={"articles": [article]})
        else:
            payload.update(
                msgtype="text", text={"content": truncate(self.plain_text(message), MAX_TEXT_BYTES, unit="bytes")}
            )
        return HttpRequest("POST", f"{self._base()}/cgi-bin/message/send", params={"access_token": token}, json=payload)

    def send(self, message: Message) -> Receipt:
        everyone = recipients(self.config.touser)
        done = self.state.done_targets()
        owed = [user for user in everyone if f"user:{user}" not in done]
        if not owed:  # an earlier attempt reached everyone (its outcome was not recorded)
            return Receipt()
        token = self.token()
        response = self.perform(self._message_request(token, message, "|".join(owed)))
        if _errcode(response) in TOKEN_ERRORS:
            response = self.perform(self._message_request(self.token(stale=token), message, "|".join(owed)))
        receipt = self.interpret(response)
        missed = _missed(json_body(response))
        if "@all" not in owed:
            invalid = {user.lower() for user in recipients(missed.get("invaliduser", ""))}
            for user in owed:
                if user.lower() not in invalid:
                    self.state.mark_done(f"user:{user}")
        if missed:
            reached = len(everyone) - len(recipients(missed.get("invaliduser", "")))
            named = "; ".join(f"{kind.removeprefix('invalid')} {value}" for kind, value in missed.items())
            raise PermanentError(
                f"WeCom delivered to {max(0, reached)} of {len(everyone)} recipients; not to {named}: "
                "check the touser in QYWX_AM and the application's visible range (可见范围)"
            )
        return receipt

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        raise_for_code(response, body)
        return Receipt(str(body["msgid"]) if body.get("msgid") else None)


def recipients(touser: str) -> list[str]:
    """The user ids of a ``touser`` list (``a|b|c``; ``@all`` stands for everyone)."""
    return [user.strip() for user in touser.split("|") if user.strip()]


def _missed(body: Mapping[str, Any]) -> dict[str, str]:
    """What WeCom says it could not reach: ``{"invaliduser": "a|b", ...}`` (empty: everyone)."""
    return {k: str(body[k]) for k in ("invaliduser", "invalidparty", "invalidtag") if body.get(k)}


def _seconds(value: Any) -> float:
    """``expires_in`` as WeCom gives it (7200 when absent or unreadable)."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 7200.0


def _errcode(response: httpx.Response) -> Any:
    try:
        return json_body(response).get("errcode")
    except DeliveryError:
        return None
