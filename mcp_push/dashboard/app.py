"""The dashboard as a Starlette app: GET-only routes over a snapshot of the ledger and the queue.

It can run on its own (``mcp-push dashboard``) or be mounted by the HTTP transport under a
base path, behind that transport's bearer token. Standing alone it also serves the answer page
(``/answer/<token>``, ``mcp_push.asking.page``): the one route that takes a POST, and only with a
signed answer token.
"""

from __future__ import annotations

import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mcp_push.config import Settings
from mcp_push.dashboard.render import View, error_page, page
from mcp_push.dashboard.snapshot import secret_scrubber, take_snapshot
from mcp_push.storage.base import Ledger

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
MAX_RUN_ID = 256
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _headers(nonce: str, styles: Iterable[str] = ()) -> dict[str, str]:
    """Nothing loads from elsewhere, nothing submits anywhere, and nothing is cached.

    ``styles`` are hashes of the inline style attributes of the e-mails shown in sandboxed frames
    (which inherit this policy): exactly those styles apply, no other inline style does."""
    hashed = "".join(f" {h}" for h in sorted(styles))
    style_src = f"'nonce-{nonce}' 'unsafe-hashes'{hashed}" if hashed else f"'nonce-{nonce}'"
    csp = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src {style_src}; img-src data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


def _unpack(source: Any) -> tuple[Ledger, Callable[[], Any], Settings | None]:
    """A Runtime, a (ledger, huey) pair, or a bare ledger (then the queue depth is not shown).

    A Runtime's queue is opened at the first page, not here: the MCP server's own Runtime
    (HTTP transport) opens it only when something needs it."""
    if isinstance(source, Ledger):
        return source, lambda: None, None
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], Ledger):
        return source[0], lambda: source[1], None
    ledger = getattr(source, "ledger", None)
    if isinstance(ledger, Ledger):
        return ledger, lambda: _queue_of(source), getattr(source, "settings", None)
    raise TypeError("create_dashboard_app takes a Runtime, a (ledger, huey) pair or a Ledger")


def _queue_of(runtime: Any) -> Any:
    """The runtime's queue, or None (depth not shown) if it cannot be opened now."""
    try:
        return getattr(runtime, "huey", None)
    except Exception:  # e.g. a queue server that went away: the page still shows the ledger
        log.warning("the dashboard could not open the queue", exc_info=True)
        return None


def create_dashboard_app(
    source: Any,
    *,
    base_path: str = "",
    settings: Settings | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
    clock: Callable[[], float] = time.time,
    answer_page: bool = False,
) -> Starlette:
    """The read-only dashboard over ``source`` (a Runtime, or a (ledger, huey) pair).

    ``base_path`` is where the app is mounted (``/dashboard``); links are built from it, or
    from the ASGI ``root_path`` when it is empty. ``settings`` (taken from a Runtime when not
    given) serve to mask secret values should one ever reach the ledger, and give the channels the
    env they render each delivery's "message as sent" with (nothing is sent). ``answer_page``
    adds ``/answer/<token>`` (the standalone ``mcp-push dashboard``; the HTTP transport mounts the
    page at its own root instead).
    """
    ledger, queue, found = _unpack(source)
    scrub = secret_scrubber(settings or found)
    env = (settings or found).env if (settings or found) is not None else {}
    fixed_base = base_path.rstrip("/")

    def index(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        base = fixed_base or str(request.scope.get("root_path", "")).rstrip("/")
        view = View(base=base, scrub=scrub, refresh=refresh_seconds, nonce=nonce, env=env)
        selected = request.query_params.get("run") or None
        if selected is not None:
            selected = selected[:MAX_RUN_ID]
        try:
            snapshot = take_snapshot(ledger, queue(), clock(), selected)
        except Exception:  # the details may name a database URL; they belong in the server log only
            log.exception("the dashboard could not read the ledger")
            body = error_page("The ledger could not be read just now; see the dashboard's log. Retrying…", view)
            return HTMLResponse(body, status_code=503, headers=_headers(nonce))
        status = 404 if snapshot.missing_run is not None else 200
        body = page(snapshot, view)
        return HTMLResponse(body, status_code=status, headers=_headers(nonce, view.styles))

    routes = [Route("/", index, methods=["GET"])]
    if answer_page:
        from mcp_push.asking.page import answer_routes

        routes.extend(answer_routes(ledger, settings=settings or found, clock=clock))
    return Starlette(routes=routes)


def serve_dashboard(settings: Settings, *, host: str = "127.0.0.1", port: int = 8766) -> None:
    """``mcp-push dashboard``: serve the page until Ctrl-C."""
    import uvicorn

    from mcp_push.http_guard import Gate, HostRules
    from mcp_push.tasks.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        # The Host/Origin check of the HTTP transport: without it a page on any site could read this one
        # through DNS rebinding (a hostile name that resolves to 127.0.0.1).
        rules = HostRules.for_settings(settings, host, port)
        app = Gate(create_dashboard_app(runtime, answer_page=True), rules=rules)
        if rules.disabled:
            print(
                "warning: MCP_PUSH_HTTP_ALLOWED_HOSTS='*' turns off the dashboard's Host check: any web page you "
                "visit could read it through DNS rebinding. List the names it is reached by instead.",
                file=sys.stderr,
            )
        shown = f"[{host}]" if ":" in host else host
        print(f"mcp-push dashboard: http://{shown}:{port}/ (read-only; Ctrl-C to stop)", file=sys.stderr)
        if host not in LOOPBACK:
            print(
                "warning: the dashboard has no login of its own; anyone who can reach this address can read "
                "run ids, titles and delivery errors. Prefer 127.0.0.1, or the HTTP transport's /dashboard.",
                file=sys.stderr,
            )
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    finally:
        runtime.close()
