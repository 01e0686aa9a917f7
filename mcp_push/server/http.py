"""The MCP tools over streamable HTTP (``mcp-push serve --transport http``), served by uvicorn.

Every request passes one gate before it reaches the MCP endpoint (``/mcp``) or the
dashboard (``/dashboard``): the Host and Origin headers must name this server (against DNS
rebinding), and, when ``MCP_PUSH_HTTP_TOKEN`` is set, the request must carry that token
(``Authorization: Bearer <token>``; browsers may use Basic auth with the token as password).
A server bound to anything but a loopback address refuses to start without a token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import re
import socket
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp_push.config import Settings
from mcp_push.errors import ConfigError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
DASHBOARD_PATH = "/dashboard"
ALLOWED_HOSTS_VAR = "MCP_PUSH_HTTP_ALLOWED_HOSTS"
MIN_TOKEN_LENGTH = 16
SHUTDOWN_GRACE = 3.0
WILDCARD_ADDRESSES = {"", "0.0.0.0", "::"}


# --- checks before anything starts ------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_http_settings(settings: Settings, host: str) -> None:
    """Refuse to serve beyond this machine without a token (raise ConfigError)."""
    if is_loopback(host):
        return
    if not settings.http_token:
        shown = host.strip() or "every address"
        raise ConfigError(
            f"refusing to serve MCP over HTTP on {shown} without a token: anyone who can reach it could send "
            "notifications as you. Set MCP_PUSH_HTTP_TOKEN to a long random secret (for example the output of "
            "`openssl rand -hex 32`) and give it to your MCP client as `Authorization: Bearer <token>`, "
            "or use --host 127.0.0.1"
        )
    if len(settings.http_token) < MIN_TOKEN_LENGTH:
        log.warning(
            "MCP_PUSH_HTTP_TOKEN has only %d characters; use at least %d random ones (openssl rand -hex 32)",
            len(settings.http_token),
            MIN_TOKEN_LENGTH,
        )


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
    ``MCP_PUSH_HTTP_ALLOWED_HOSTS`` (``*`` turns the check off, e.g. behind a proxy that checks).
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
        return cls(host, port, _split_list(settings.env.get(ALLOWED_HOSTS_VAR, "")))

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


class Gate:
    """ASGI middleware in front of the whole app: Host/Origin first, then the token."""

    def __init__(self, app: ASGIApp, *, rules: HostRules, token: str | None):
        self.app = app
        self.rules = rules
        self.token = token

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
        host = headers.get("host")
        if not self.rules.host_ok(host):
            log.warning("rejected a request for Host %r (allowed: %s)", host, ", ".join(self.rules.hosts))
            response = JSONResponse(
                {
                    "error": "invalid_host",
                    "message": f"Host {host!r} is not served here; if this name should reach mcp-push, "
                    f"add it to {ALLOWED_HOSTS_VAR} on the server",
                },
                status_code=421,
            )
        elif not self.rules.origin_ok(headers.get("origin")):
            log.warning("rejected a request from Origin %r", headers.get("origin"))
            response = JSONResponse(
                {"error": "invalid_origin", "message": "cross-origin requests are not allowed"}, status_code=403
            )
        elif self.token is not None and not token_matches(headers.get("authorization"), self.token):
            challenge = 'Bearer realm="mcp-push"'
            if path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/"):
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


# --- assembling and running -----------------------------------------------------------------


def dashboard_factory() -> Any:
    """``mcp_push.dashboard.create_dashboard_app`` when the dashboard is installed, else None."""
    try:
        from mcp_push.dashboard import create_dashboard_app
    except ImportError:
        return None
    return create_dashboard_app


def build_http_app(
    server: MCPServer, settings: Settings, *, host: str, port: int, dashboard_source: Any = None
) -> ASGIApp:
    """The ASGI app: MCP at /mcp and, given a source (a Runtime) and the dashboard module, the
    dashboard at /dashboard; all of it behind the Gate."""
    from starlette.routing import Mount

    rules = HostRules.for_settings(settings, host, port)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=rules.sdk_settings(), host=host)
    factory = dashboard_factory() if dashboard_source is not None else None
    if factory is not None:
        try:
            dashboard = factory(dashboard_source, base_path=DASHBOARD_PATH, settings=settings)
        except Exception:  # the MCP endpoint must come up even if the dashboard cannot
            log.exception("the dashboard could not be built; serving MCP without it")
        else:
            app.router.routes.append(Mount(DASHBOARD_PATH, app=dashboard))
    return Gate(app, rules=rules, token=settings.http_token)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket, or a ConfigError that says why not (port taken, bad address)."""
    bare = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {_host_form(bare) or '*'}:{port} ({exc.strerror or exc}); "
            "choose another --port or --host"
        ) from None
    sock.set_inheritable(True)
    return sock


def run_http(server: MCPServer, settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT. uvicorn shuts down gracefully, then re-raises the signal, so the
    caller's own handler (``serve`` turns SIGTERM into KeyboardInterrupt) runs its cleanup."""
    import uvicorn

    sock = bind(host, port)
    dashboard_runtime = None
    try:
        if dashboard_factory() is not None:
            from mcp_push.tasks.runtime import Runtime

            dashboard_runtime = Runtime.open(settings)  # its own read connections; nothing is sent from it
        app = build_http_app(server, settings, host=host, port=port, dashboard_source=dashboard_runtime)
        verbose = logging.getLogger().isEnabledFor(logging.INFO)
        config = uvicorn.Config(
            app,
            log_config=None,  # our logging setup (stderr), not uvicorn's (access log on stdout)
            access_log=verbose,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            server_header=False,
        )
        # stderr, like the dashboard: with this transport stdout/stderr are not the protocol.
        shown = f"http://{_host_form(host) or '0.0.0.0'}:{sock.getsockname()[1]}{MCP_PATH}"
        if settings.http_token:
            print(f"mcp-push: serving MCP at {shown} (Authorization: Bearer token required)", file=sys.stderr)
        else:
            print(
                f"mcp-push: serving MCP at {shown} without a token: any process on this machine can use it "
                "(set MCP_PUSH_HTTP_TOKEN to require one)",
                file=sys.stderr,
            )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if dashboard_runtime is not None:
            dashboard_runtime.close()
