"""Keep secrets out of every error, log line and stored provider answer.

Only text that mcp-push did not write is redacted: provider answers, exception texts, URLs and
headers. The user's own title, content and run id never pass through a ``Redactor``: a topic
called ``alerts`` must not turn "3 alerts fired" into "3 *** fired".

A secret of ``SHORT_SECRET`` characters or more is masked wherever it occurs. A shorter one is
masked only where it stands as a credential does: a URL path segment, a query or form value, the
password of ``user:password@host``, a bearer token or a whole header value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "***"
SHORT_SECRET = 8  # below this a value may well be an ordinary word
MIN_SECRET = 4  # below this a value cannot be told from noise at all

# Query parameters and header-like fields whose values are credentials wherever they appear.
_SECRET_PARAM = re.compile(
    r"(?i)((?:access_token|token|key|sign|secret|password|passwd|apikey|api_key|sendkey|pushkey|push_key"
    r"|device_key|corpsecret|appToken)=)([^&\s\"']+)"
)
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-gotify-key|cookie)(\"?\s*[:=]\s*\"?)([^\r\n\"]+)"
)
_TELEGRAM_TOKEN = re.compile(r"\bbot\d{3,}:[A-Za-z0-9_-]{10,}")
_URL_USERINFO = re.compile(r"(://)([^/\s:@]*):[^/\s@]+@")
# Where a short secret stands as a credential: after "/", "=", ":" (a path segment, a query or form
# value, a password before "@") or "Bearer "/"Basic ", up to a delimiter; or as a whole header value.
_IN_URL = r"(?P<pre>[/=:]|\b(?:Bearer|Basic)[ \t]+)(?:WORDS)(?=$|[/?&#.:@\s\"'`,;)\]}<>])"
_HEADER_VALUE = r"(?P<hpre>^[\w-]+:[ \t]*)(?:WORDS)(?=[ \t]*\r?$)"


class Redactor:
    """Masks a channel's known secret values, then the patterns that look like credentials."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        long: set[str] = set()
        short: set[str] = set()
        for secret in secrets:
            secret = (secret or "").strip()
            if len(secret) < MIN_SECRET:
                continue
            variants = {secret, quote(secret, safe=""), quote_plus(secret)}
            (long if len(secret) >= SHORT_SECRET else short).update(variants)
        # Longest first, so a secret that contains another is masked whole.
        self._long = sorted(long, key=len, reverse=True)
        self._short: re.Pattern[str] | None = None
        if short:
            words = "|".join(re.escape(s) for s in sorted(short, key=len, reverse=True))
            pattern = f"{_IN_URL}|{_HEADER_VALUE}".replace("WORDS", words)
            self._short = re.compile(pattern, re.MULTILINE)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._long:
            text = text.replace(secret, MASK)
        if self._short is not None:
            text = self._short.sub(lambda m: (m.group("pre") or m.group("hpre")) + MASK, text)
        text = _TELEGRAM_TOKEN.sub("bot" + MASK, text)
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)


def mask(value: str) -> str:
    """Show enough of a setting to recognise it, never enough to use it."""
    if len(value) <= 8:
        return MASK
    return f"{value[:3]}{MASK}{value[-2:]}"


# --- URLs -----------------------------------------------------------------------------------
def split_userinfo(url: str) -> tuple[str, str, str, str]:
    """``(prefix, user, password, rest)`` of ``[scheme://][user[:password]@]rest``.

    The one parser of credentials in URLs (backend URLs, proxies, webhooks). ``prefix`` is
    ``scheme://`` or empty (``TG_PROXY_HOST=user:pass@host`` has none). The last ``@`` before
    the query ends the userinfo, so a password may hold ``/`` or ``@``.
    """
    scheme, sep, rest = url.partition("://")
    prefix = f"{scheme}{sep}" if sep else ""
    if not sep:
        rest = url
    head = rest.split("?", 1)[0].split("#", 1)[0]
    userinfo, at, _ = head.rpartition("@")
    if not at:
        return prefix, "", "", rest
    user, _, password = userinfo.partition(":")
    return prefix, user, password, rest[len(userinfo) + 1 :]


def url_password(url: str) -> str:
    """The password in a URL's userinfo, URL-decoded ('' when there is none)."""
    return unquote(split_userinfo(url)[2])


def mask_userinfo(value: str) -> str:
    """``value`` with the password of its ``user:password@`` part masked (the user stays readable)."""
    prefix, user, password, rest = split_userinfo(value)
    if not password:
        return value
    return f"{prefix}{user}:{MASK}@{rest}"


def _looks_like_key(segment: str) -> bool:
    """A path segment that is a generated credential rather than a route name."""
    if len(segment) >= 16:
        return True
    return len(segment) >= SHORT_SECRET and any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


def webhook_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that grant posting: its path, the path's last segment, key-like segments."""
    path = urlsplit(url).path.strip("/")
    segments = [s for s in path.split("/") if s]
    keys = [s for s in segments if _looks_like_key(s)]
    return [part for part in (path, path.rpartition("/")[2], *keys) if part]


def url_secrets(url: str) -> list[str]:
    """Every piece of a user-given URL that may be a credential: password, path keys, query values.

    Query values holding a ``$title``/``$content`` placeholder are the message, not a secret.
    """
    if not url:
        return []
    password = split_userinfo(url)[2]
    try:
        query = parse_qsl(urlsplit(url).query, keep_blank_values=False)
    except ValueError:
        query = []
    values = [v for _, v in query if "$" not in v]
    return [p for p in (password, unquote(password), *webhook_secrets(url), *values) if p]
