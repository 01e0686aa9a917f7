"""The gate in front of mcp-push's HTTP servers: Host and Origin checks, and the bearer token.

Both the HTTP transport (``serve --transport http``, MCP and its /dashboard) and the standalone
``mcp-push dashboard`` use it, so a page on another site cannot reach either through DNS
rebinding (a hostile name that resolves to 127.0.0.1) or a cross-site request. It depends on
starlette only when a request arrives, so importing it costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp_push.config import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

ALLOWED_HOSTS_VAR = "MCP_PUSH_HTTP_ALLOWED_HOSTS"
WILDCARD_ADDRESSES = {"", "0.0.0.0", "::"}
# Query parameters that carry credentials by convention; their values never reach a log line.
SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|apikey|key|auth|password|secret|sig|signature)=)[^&#\s\"]*"
)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --- Host / Origin rules ------------------------------------------------------------


def _host_form(name: str) -> str:
    """How a name appears in a Host header: IPv6 literals in brackets."""
    bare = name.strip().strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def _split_list(raw: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", raw.strip()) if part]


class HostRules:
    """Which Host and Origin headers this server answers to.

    The bound address and the localhost forms, each with and without the port; for a
    wildcard bind (0.0.0.0, ::) also this machine's hostname; plus anything listed in
    ``MCP_PUSH_HTTP_ALLOWED_HOSTS`` (``*`` turns the check off, e.g. behind a proxy that checks)
    and, through ``for_settings``, the host of ``MCP_PUSH_PUBLIC_URL``.
    """

    def __init__(self, host: str, port: int, extra: Iterable[str] = ()):
        names = {"127.0.0.1", "localhost", "[::1]"}
        bare = host.strip().strip("[]")
        if bare in WILDCARD_ADDRESSES:
            names.add(socket.gethostname().lower())
        else:
            names.add(_host_form(bare).lower())
        extras = [e.lower() for e in extra]
        self.disabled = "*" in extras
        hosts = {f"{n}:{port}" for n in names} | names
        hosts |= {e for e in extras if e != "*"}
        self.hosts = sorted(hosts)
        self.origins = sorted({f"{scheme}://{h}" for h in self.hosts for scheme in ("http", "https")})

    @classmethod
    def for_settings(cls, settings: Settings, host: str, port: int) -> HostRules:
        """The rules for this bind, plus the allowed-hosts list and the host of MCP_PUSH_PUBLIC_URL
        (the name the phone reaches the answer page by)."""
        extra = _split_list(settings.env.get(ALLOWED_HOSTS_VAR, ""))
        public = urlsplit((settings.public_url or "").strip())
        if public.scheme in ("http", "https") and public.hostname:
            extra.append(public.netloc.rpartition("@")[2])
        return cls(host, port, extra)

    def host_ok(self, value: str | None) -> bool:
        return self.disabled or (value is not None and value.lower() in self.hosts)

    def origin_ok(self, value: str | None) -> bool:
        # No Origin: not a browser's cross-site request.
        return self.disabled or value is None or value.lower() in self.origins

    def sdk_settings(self) -> Any:
        """The same rules for the MCP SDK's own check on /mcp (defence in depth)."""
        from mcp.server.transport_security import TransportSecuritySettings

        return TransportSecuritySettings(
            enable_dns_rebinding_protection=not self.disabled,
            allowed_hosts=list(self.hosts),
            allowed_origins=list(self.origins),
        )


# --- the gate -------------------------------------------------------------------------


def token_matches(authorization: str | None, token: str) -> bool:
    """``Bearer <token>``, or ``Basic`` with the token as password (any user name); constant time."""
    if not authorization:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        credentials = decoded.partition(":")[2]
    elif scheme != "bearer":
        return False
    return hmac.compare_digest(credentials.encode("utf-8"), token.encode("utf-8"))


def refusal(rules: HostRules, headers: Any) -> tuple[int, dict[str, str]] | None:
    """Why a request must not be answered, as (status, JSON body), or None if its Host and Origin are ours.

    The one Host/Origin check of every mcp-push HTTP server: 421 for a Host we do not serve
    (DNS rebinding), 403 for an Origin of another site.
    """
    host = headers.get("host")
    if not rules.host_ok(host):
        log.warning("rejected a request for Host %r (allowed: %s)", host, ", ".join(rules.hosts))
        return 421, {
            "error": "invalid_host",
            "message": f"Host {host!r} is not served here; if this name should reach mcp-push, "
            f"add it to {ALLOWED_HOSTS_VAR} on the server",
        }
    origin = headers.get("origin")
    if not rules.origin_ok(origin):
        log.warning("rejected a request from Origin %r", origin)
        return 403, {"error": "invalid_origin", "message": "cross-origin requests are not allowed"}
    return None


def _one_segment_under(path: str, base: str) -> bool:
    """``base/<one segment>`` exactly: nothing deeper, no ``..`` walking out of it."""
    rest = path[len(base) + 1 :] if path.startswith(base + "/") else ""
    return bool(rest) and "/" not in rest and rest not in (".", "..")


class Gate:
    """ASGI middleware in front of a whole app: Host/Origin first, then the token (if there is one).

    ``browser_paths``: where a missing token is answered with a Basic challenge, so that a browser
    asks for it (the dashboard); elsewhere the challenge is Bearer. ``open_paths``: served without
    the token (Host/Origin still checked): the answer page, whose signed link is its own proof.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: HostRules,
        token: str | None = None,
        browser_paths: tuple[str, ...] = (),
        open_paths: tuple[str, ...] = (),
    ):
        self.app = app
        self.rules = rules
        self.token = token
        self.browser_paths = browser_paths
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        from starlette.datastructures import Headers
        from starlette.responses import JSONResponse

        headers = Headers(scope=scope)
        path = scope.get("path", "")
        refused = refusal(self.rules, headers)
        if refused is not None:
            response = JSONResponse(refused[1], status_code=refused[0])
        elif (
            self.token is not None
            and not any(_one_segment_under(path, p) for p in self.open_paths)
            and not token_matches(headers.get("authorization"), self.token)
        ):
            challenge = 'Bearer realm="mcp-push"'
            if any(path == p or path.startswith(p + "/") for p in self.browser_paths):
                challenge = 'Basic realm="mcp-push", charset="UTF-8"'  # lets a browser ask for it
            response = JSONResponse(
                {
                    "error": "unauthorized",
                    "message": "missing or wrong token: send `Authorization: Bearer <MCP_PUSH_HTTP_TOKEN>`",
                },
                status_code=401,
                headers={"WWW-Authenticate": challenge},
            )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


# --- logs -------------------------------------------------------------------------------------


def redact_url(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credential query values (``token=``, ``access_token=``…) and known secrets masked."""
    text = SECRET_QUERY.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """For uvicorn's access log: the request line may carry a token in its query string."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg, self.secrets)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a, self.secrets) if isinstance(a, str) else a for a in record.args)
        return True
