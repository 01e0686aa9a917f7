"""The MCP tools over streamable HTTP (``mcp-push serve --transport http``), served by uvicorn.

Every request passes one gate before it reaches the MCP endpoint (``/mcp``), the
dashboard (``/dashboard``), ``/metrics``, ``/healthz`` or the answer page (``/answer/<token>``):
the Host and Origin headers must name this server (against DNS rebinding), and, when ``MCP_PUSH_HTTP_TOKEN`` is set, the
request must carry that token (``Authorization: Bearer <token>``; browsers may use Basic auth with
the token as password). The answer page alone is served without the token: a phone following a
link has none, and the signed single-use token in the link is the proof.
A server bound to anything but a loopback address refuses to start without a token of at least 32
characters, and `MCP_PUSH_HTTP_ALLOWED_HOSTS=*` (no Host check) refuses to start without any token.
uvicorn's access log (with -v) masks credential query values such as `?token=`.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

from mcp_push.config import Settings
from mcp_push.errors import ConfigError
from mcp_push.http_guard import (
    ALLOWED_HOSTS_VAR,
    Gate,
    HostRules,
    RedactingFilter,
    _host_form,
    _split_list,
    is_loopback,
    token_matches,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp

    from mcp_push.tasks.runtime import Runtime

__all__ = ["Gate", "HostRules", "build_http_app", "check_http_settings", "is_loopback", "run_http", "token_matches"]

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
DASHBOARD_PATH = "/dashboard"
ANSWER_PATH = "/answer"
MIN_TOKEN_LENGTH = 32
SHUTDOWN_GRACE = 3.0
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


# --- checks before anything starts ------------------------------------------------


def check_http_settings(settings: Settings, host: str) -> None:
    """Refuse to serve beyond this machine without a long token, or with the Host check off and no
    token at all (raise ConfigError)."""
    token = settings.http_token
    if not token and "*" in _split_list(settings.env.get(ALLOWED_HOSTS_VAR, "")):
        raise ConfigError(
            f"refusing {ALLOWED_HOSTS_VAR}='*' without a token: with the Host check off, any web page you visit "
            "could reach this server through DNS rebinding and send notifications as you. Set MCP_PUSH_HTTP_TOKEN "
            f"to a random secret of at least {MIN_TOKEN_LENGTH} characters (make one with `{MAKE_TOKEN}`), "
            f"or list the names this server is reached by in {ALLOWED_HOSTS_VAR} instead of '*'"
        )
    if is_loopback(host):
        if token and len(token) < MIN_TOKEN_LENGTH:
            log.warning(
                "MCP_PUSH_HTTP_TOKEN has only %d characters; use at least %d random ones (%s)",
                len(token),
                MIN_TOKEN_LENGTH,
                MAKE_TOKEN,
            )
        return
    shown = host.strip() or "every address"
    if not token:
        raise ConfigError(
            f"refusing to serve MCP over HTTP on {shown} without a token: anyone who can reach it could send "
            f"notifications as you. Set MCP_PUSH_HTTP_TOKEN to a random secret of at least {MIN_TOKEN_LENGTH} "
            f"characters (make one with `{MAKE_TOKEN}`) and give it to your MCP client as "
            "`Authorization: Bearer <token>`, or use --host 127.0.0.1"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to serve MCP over HTTP on {shown}: MCP_PUSH_HTTP_TOKEN has {len(token)} characters, and a "
            f"server reachable from the network needs at least {MIN_TOKEN_LENGTH}. Make one with `{MAKE_TOKEN}`, "
            "or use --host 127.0.0.1"
        )


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
    """The ASGI app: MCP at /mcp and, given a source (a Runtime), the answer page at /answer/<token>,
    /metrics and /healthz, and (with the dashboard module) the dashboard at /dashboard; all of it
    behind the Gate."""
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
    if dashboard_source is not None:
        from mcp_push.asking.page import answer_routes

        app.router.routes.extend(answer_routes(dashboard_source, settings=settings))
    if hasattr(dashboard_source, "ledger"):  # a Runtime: /metrics and /healthz, behind the token like the rest
        from mcp_push.metrics import http_routes

        app.router.routes.extend(http_routes(dashboard_source))
    return Gate(
        app,
        rules=rules,
        token=settings.http_token,
        browser_paths=(DASHBOARD_PATH,),
        open_paths=(ANSWER_PATH,),
    )


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


def run_http(server: MCPServer, settings: Settings, *, host: str, port: int, runtime: Runtime | None = None) -> None:
    """Serve until SIGTERM/SIGINT. uvicorn shuts down gracefully, then re-raises the signal, so the
    caller's own handler (``serve`` turns SIGTERM into KeyboardInterrupt) runs its cleanup.

    ``runtime`` is the server's own: the dashboard reads its ledger (and queue depth) through it."""
    import uvicorn

    sock = bind(host, port)
    try:
        app = build_http_app(server, settings, host=host, port=port, dashboard_source=runtime)
        verbose = logging.getLogger().isEnabledFor(logging.INFO)
        # The access log shows each request line: a client that puts its token in the URL must not leak it.
        for name in ("uvicorn.access", "uvicorn.error"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in logger.filters):
                logger.addFilter(RedactingFilter([settings.http_token or ""]))
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
