"""Apprise, for the long tail of services mcp-push has no channel of its own for.

``APPRISE_URLS`` holds Apprise URLs (https://github.com/caronc/apprise/wiki), separated by
spaces or commas; each becomes a channel of its own, ``apprise:1``, ``apprise:2``, … in
the order given, with the same ledger, retries and status as every other channel.
Needs the optional extra: ``pip install 'mcp-push[apprise]'``.

Apprise answers a send with a bare yes or no. No is treated as transient (retried),
with the reason Apprise logged while sending, redacted: Apprise URLs carry their
service's credentials, so every URL and every token-like piece of one is a secret.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from mcp_push.channels.base import Channel, Message, Receipt, Setting
from mcp_push.channels.errors import PermanentError, TransientError
from mcp_push.channels.redact import MASK, split_userinfo

VARIABLE = "APPRISE_URLS"
MAX_URLS = 10
INSTALL_HINT = "pip install 'mcp-push[apprise]'"
_SPLIT = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")  # a comma inside a URL stays part of it
_PIECES = re.compile(r"[/?&=:@,#;\s]+")
_MIN_SECRET_PIECE = 6
_LONG_PIECE = 16


def apprise_urls(env: Mapping[str, str]) -> list[str]:
    """The URLs in APPRISE_URLS, in order. Commas separate URLs only where a new scheme follows."""
    return [part for part in _SPLIT.split(env.get(VARIABLE, "").strip()) if part]


def apprise_installed() -> bool:
    try:
        return importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):
        return False


def load_apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise PermanentError(
            f"{VARIABLE} is set but Apprise is not installed where the worker runs: {INSTALL_HINT}"
        ) from None
    return apprise


def secret_pieces(url: str) -> list[str]:
    """The parts of an Apprise URL that may be credentials: user and password, and every path, host
    or query piece that looks like a token (long, or with digits or capitals). Services put tokens
    in any of those places (tgram://TOKEN/CHAT, discord://ID/TOKEN, pover://USER@TOKEN)."""
    _, _, rest = url.partition("://")
    _, user, password, _ = split_userinfo(url)  # a password may hold "/" or "@" (mailto://me:a/b@host)
    pieces = [p for p in (user, password, unquote(password)) if p]
    for piece in _PIECES.split(rest):
        looks_random = any(c.isdigit() for c in piece) or any(c.isupper() for c in piece)
        if len(piece) >= _LONG_PIECE or (len(piece) >= _MIN_SECRET_PIECE and looks_random):
            pieces.append(piece)
    return pieces


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else "?"


class _ThreadWarnings(logging.Handler):
    """Collects Apprise's warnings and errors logged by this thread only (workers send in parallel)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.messages.append(record.getMessage())
            except Exception:  # a malformed log call must not break the send
                self.messages.append(str(record.msg))


class AppriseChannel(Channel):
    """One URL of APPRISE_URLS: this class is URL 1 (``apprise:1``); ``instance(n)`` is URL ``n``.

    Its instances are not numbered variables: every one reads APPRISE_URLS, and takes its own URL.
    """

    id = "apprise:1"
    base_id = "apprise"
    max_number = MAX_URLS
    name = "Apprise"
    settings = (Setting(VARIABLE, required=True, secret=True, example="ntfy://my-topic mailto://user:pass@gmail.com"),)

    # --- instances -----------------------------------------------------
    @classmethod
    def make_instance(cls, number: int) -> type[Channel]:
        return type(
            f"AppriseChannel{number}",
            (cls,),
            {
                "id": f"apprise:{number}",
                "number": number,
                "_provider": cls,
                "__module__": __name__,
                "__doc__": f"APPRISE_URLS URL {number}.",
            },
        )

    @classmethod
    def variables(cls) -> list[str]:
        return [VARIABLE]  # every instance reads the one list

    @classmethod
    def instances(cls, env: Mapping[str, str]) -> list[type[Channel]]:
        """One per URL (up to MAX_URLS), and apprise:1 always, as every provider's instance 1."""
        count = min(len(apprise_urls(env)), MAX_URLS)
        return [cls.instance(number) for number in range(1, max(count, 1) + 1)]

    # --- configuration -------------------------------------------------
    @classmethod
    def url(cls, env: Mapping[str, str]) -> str | None:
        urls = apprise_urls(env)
        return urls[cls.number - 1] if cls.number <= len(urls) else None

    @classmethod
    def touched(cls, env: Mapping[str, str]) -> bool:
        return cls.url(env) is not None

    @classmethod
    def missing(cls, env: Mapping[str, str]) -> list[str]:
        if cls.url(env) is not None:
            return []
        count = len(apprise_urls(env))
        return [f"{VARIABLE} (it has {count} URL{'s' if count != 1 else ''}; {cls.id} is URL number {cls.number})"]

    @classmethod
    def enabled(cls, env: Mapping[str, str]) -> bool:
        # Enabled even without the package: the delivery then fails with what to install.
        return cls.url(env) is not None

    @classmethod
    def masked_settings(cls, env: Mapping[str, str]) -> dict[str, str]:
        url = cls.url(env)
        if url is None:
            return {}
        count = len(apprise_urls(env))
        shown = {VARIABLE: f"{scheme_of(url)}://{MASK} (URL {cls.number} of {count})"}
        if not apprise_installed():
            shown["apprise"] = f"not installed: {INSTALL_HINT}"
        if cls.number == MAX_URLS and count > MAX_URLS:
            shown["note"] = f"only the first {MAX_URLS} URLs are used; {count - MAX_URLS} more are ignored"
        return shown

    def secret_values(self) -> list[str]:
        """Every URL, and every piece of one that may be a credential."""
        values: list[str] = []
        for url in apprise_urls(self.env):
            values.append(url)
            values.extend(secret_pieces(url))
        return values

    # --- sending -------------------------------------------------------
    def send(self, message: Message) -> Receipt:
        url = self.url(self.env)
        if url is None:
            raise PermanentError(f"{VARIABLE} has no URL number {self.number} any more")
        apprise = load_apprise()
        try:
            asset = apprise.AppriseAsset(async_mode=False)  # send in this thread, so its log lines are ours
        except Exception:  # an Apprise without async_mode
            asset = apprise.AppriseAsset()
        notifier = apprise.Apprise(asset=asset)
        if not notifier.add(url):
            raise PermanentError(
                f"Apprise does not understand {VARIABLE} URL number {self.number} ({scheme_of(url)}://…): "
                "check it against the Apprise wiki"
            )
        handler = _ThreadWarnings()
        logger = logging.getLogger("apprise")
        logger.addHandler(handler)
        try:
            result = notifier.notify(body=self.render_body(message) or message.title, title=message.title)
        finally:
            logger.removeHandler(handler)
        if result:
            return Receipt()
        reason = self._reason(result, handler.messages)
        raise TransientError(f"Apprise could not deliver to {scheme_of(url)}://: {reason}")

    @staticmethod
    def _reason(result: Any, captured: list[str]) -> str:
        """What Apprise said went wrong: its result's log (Apprise 2) or the warnings it logged."""
        lines: list[str] = []
        logs = getattr(result, "logs", None)
        if callable(logs):
            try:
                lines = [
                    str(entry.message)
                    for entry in logs()
                    if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")
                ]
            except Exception:
                lines = []
        lines = list(dict.fromkeys(lines or captured))
        return "; ".join(lines)[:500] if lines else "no reason given (Apprise returned False)"
