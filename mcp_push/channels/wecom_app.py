"""WeCom application message (企业微信应用消息): gettoken, then POST /cgi-bin/message/send.

QYWX_AM is ``corpid,corpsecret,touser,agentid[,media_id]``. The access token is cached per
(origin, corpid, corpsecret) until it expires, since fetching one per message trips 45009;
a token WeCom calls invalid or expired (40014/42001) is refreshed once and the message resent.
"""

from __future__ import annotations

import hashlib
import html
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

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

log = logging.getLogger(__name__)

DEFAULT_ORIGIN = "https://qyapi.weixin.qq.com"
MAX_TEXT_BYTES = 2048
TOKEN_ERRORS = (40014, 42001)
HINTS = {
    40001: "check the corpsecret in QYWX_AM (the application's Secret)",
    40013: "check the corpid in QYWX_AM (我的企业 → 企业ID)",
    60020: "add this machine's public IP to the application's 企业可信IP",
    81013: "check the touser in QYWX_AM: no recipient is valid or in the application's visible range",
}

# (origin, corpid, sha256(corpsecret)) -> (access_token, monotonic expiry)
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


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

    def _cache_key(self) -> tuple[str, str, str]:
        config = self.config
        origin = with_origin(self._base() + "/", self.origin)
        return origin, config.corpid, hashlib.sha256(config.corpsecret.encode()).hexdigest()

    def secret_values(self) -> list[str]:
        config = parse_am(self.get("QYWX_AM"))
        if config is None:
            return super().secret_values()
        cached = _TOKENS.get(self._cache_key())
        return [*super().secret_values(), config.corpsecret, *(cached[:1] if cached else ())]

    def token(self, stale: str | None = None) -> str:
        """A valid access token: the cached one unless it expired or is ``stale`` (just refused)."""
        key = self._cache_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and cached[0] != stale and cached[1] > time.monotonic():
                return cached[0]
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
            token, lifetime = str(body["access_token"]), _seconds(body.get("expires_in"))
            _TOKENS[key] = (token, time.monotonic() + lifetime - min(300.0, lifetime / 10))
        self.redact = Redactor(self.secret_values())
        return token

    def request(self, message: Message) -> HttpRequest:
        return self._message_request(self.token(), message)

    def _message_request(self, token: str, message: Message) -> HttpRequest:
        config = self.config
        payload: dict[str, Any] = {
            "touser": config.touser,
            "agentid": int(config.agentid) if config.agentid.isdigit() else config.agentid,
            "safe": 0,
        }
        if config.media_id:
            content = html.escape(message.content or message.title).replace("\n", "<br/>")
            article = {
                "title": truncate(message.title, 128, unit="bytes"),
                "thumb_media_id": config.media_id,
                "author": "mcp-push",
                "content_source_url": "",
                "content": content,
                "digest": truncate(message.content or message.title, 512, unit="bytes"),
            }
            payload.update(msgtype="mpnews", mpnews={"articles": [article]})
        else:
            payload.update(msgtype="text", text={"content": truncate(message.text, MAX_TEXT_BYTES, unit="bytes")})
        return HttpRequest("POST", f"{self._base()}/cgi-bin/message/send", params={"access_token": token}, json=payload)

    def send(self, message: Message) -> Receipt:
        token = self.token()
        response = self.perform(self._message_request(token, message))
        if _errcode(response) in TOKEN_ERRORS:
            response = self.perform(self._message_request(self.token(stale=token), message))
        return self.interpret(response)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        raise_for_code(response, body)
        missed = {k: body[k] for k in ("invaliduser", "invalidparty", "invalidtag") if body.get(k)}
        if missed:
            log.warning("WeCom delivered to only some recipients; not to %s", missed)
        return Receipt(str(body["msgid"]) if body.get("msgid") else None)


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
