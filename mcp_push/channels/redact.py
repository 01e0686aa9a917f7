"""Keep secrets out of every error, log line and stored provider answer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"

# Query parameters and header-like fields whose values are credentials wherever they appear.
_SECRET_PARAM = re.compile(
    r"(?i)((?:access_token|token|key|sign|secret|password|passwd|apikey|api_key|sendkey|pushkey|push_key"
    r"|device_key|corpsecret|appToken)=)([^&\s\"']+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(authorization|x-gotify-key|cookie)(\"?\s*[:=]\s*\"?)([^\r\n\"]+)")
_TELEGRAM_TOKEN = re.compile(r"\bbot\d{3,}:[A-Za-z0-9_-]{10,}")
_URL_USERINFO = re.compile(r"(://)[^/\s:@]+:[^/\s@]+@")


class Redactor:
    """Masks the known secret values of a channel, then the patterns that look like credentials."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        variants: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < 4:
                continue
            variants.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _TELEGRAM_TOKEN.sub("bot" + MASK, text)
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        return _URL_USERINFO.sub(r"\1" + MASK + "@", text)


def mask(value: str) -> str:
    """Show enough of a setting to recognise it, never enough to use it."""
    if len(value) <= 8:
        return MASK
    return f"{value[:3]}{MASK}{value[-2:]}"


def webhook_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that grant posting: its path and the path's last segment."""
    path = urlsplit(url).path.strip("/")
    return [part for part in (path, path.rpartition("/")[2]) if part]
