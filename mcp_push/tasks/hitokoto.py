"""HITOKOTO=true: append a sentence from the hitokoto API, as QingLong's notify does.

Fetched once per ticket at delivery time (never while the agent waits), with a 1 s cap:
if the API is slow or down, the notification goes out without it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import httpx

from mcp_push.channels.base import HttpClients, with_origin
from mcp_push.config import Settings

log = logging.getLogger(__name__)

URL = "https://v1.hitokoto.cn/"
TIMEOUT = 1.0
_CACHE_SIZE = 256


class Hitokoto:
    def __init__(self, settings: Settings, clients: HttpClients):
        self.enabled = settings.env.get("HITOKOTO", "").strip().lower() in {"1", "true", "yes", "on"}
        self._url = with_origin(URL, settings.origin_for("hitokoto"))  # MCP_PUSH_ORIGIN_HITOKOTO, as a channel's
        self._clients = clients
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def decorate(self, ticket: str, content: str) -> str:
        if not self.enabled:
            return content
        with self._lock:
            sentence = self._cache.get(ticket)
        if sentence is None:
            sentence = self._fetch()
            with self._lock:
                self._cache[ticket] = sentence
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return f"{content}\n\n{sentence}" if sentence else content

    def _fetch(self) -> str:
        try:
            response = self._clients.get().get(self._url, timeout=TIMEOUT)
            body = response.json()
            return f"{body['hitokoto']}    ----{body.get('from', '')}".rstrip(" -")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.info("hitokoto unavailable (%s); sending without it", type(exc).__name__)
            return ""
