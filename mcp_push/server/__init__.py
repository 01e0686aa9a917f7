"""The MCP server: tools, prompt, and the process around them (embedded worker, clean exit).

On stdio the embedded worker starts once the client has its ``initialize`` answer (at the
client's next message, or after EMBEDDED_START_AFTER seconds): an agent waits for that
answer at every session start, and the consumer (Huey, and redis or psycopg when installed)
is a fifth of the start. A notification sent before then is committed to the ledger and
enqueued by the worker as it starts, so nothing waits long.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp_push.config import Settings
from mcp_push.errors import ConfigError
from mcp_push.notifier import Notifier
from mcp_push.server.app import build_server
from mcp_push.tasks.drain import ensure_delivery
from mcp_push.tasks.lifecycle import CLOSE_SECONDS, HANDBACK_SECONDS, SERVE_GRACE_MAX, StopSignals, bounded, stop_grace
from mcp_push.tasks.runtime import Runtime

if TYPE_CHECKING:
    from mcp_push.tasks.worker import Worker

log = logging.getLogger(__name__)

EMBEDDED_START_AFTER = 1.0  # seconds: a client that never says more than `initialize` still gets deliveries
SERVE_ARENAS = 2  # glibc malloc arenas for serve's threads (see limit_malloc_arenas)
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


class EmbeddedWorker:
    """serve's own worker, built and started on demand (once)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.worker: Worker | None = None
        self.wanted = threading.Event()  # the client is initialized: time to start

    def start(self) -> None:
        if self.worker is None:
            self.runtime.huey  # noqa: B018 - first: the queue decides how Huey is imported
            from mcp_push.tasks.worker import Worker

            worker = Worker(self.runtime)
            worker.start()
            self.worker = worker

    def after_initialize(self) -> Callable[[Any, Callable[[Any], Awaitable[Any]]], Awaitable[Any]]:
        """MCP middleware that asks for the start at the first message after ``initialize``."""

        async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
            if getattr(ctx, "method", "initialize") != "initialize":
                self.wanted.set()
            return await call_next(ctx)

        return middleware


def serve(
    settings: Settings,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    embedded_worker: bool = True,
) -> None:
    """Run the MCP server until the client disconnects or SIGTERM/SIGINT arrives, then stop within 10 s.

    On the way out, what is still to deliver is handed to a detached drain worker (started
    first, so a client that kills us mid-stop loses nothing); sends already on the wire get
    a few seconds to finish, and what is left is released to that drainer, which sends each
    exactly once. A second signal cuts the wait short.
    """
    if transport not in ("stdio", "http"):
        raise ValueError(f"unsupported transport {transport!r}")
    check_priority_settings(settings)
    if embedded_worker:
        lighten_embedded_worker()
    grace = stop_grace(settings, SERVE_GRACE_MAX)
    if transport == "http":
        from mcp_push.server.http import SHUTDOWN_GRACE, check_http_settings

        check_http_settings(settings, host)  # refuse before anything starts
        grace = max(0.0, min(grace, SERVE_GRACE_MAX - SHUTDOWN_GRACE))  # uvicorn's own grace comes first
    runtime = Runtime.open(settings)
    server = build_server(Notifier(runtime))
    embedded = EmbeddedWorker(runtime) if embedded_worker else None
    signals = StopSignals().install()
    try:
        if transport == "http":
            from mcp_push.server.http import run_http

            if embedded:
                embedded.start()
            # uvicorn takes SIGTERM/SIGINT while it runs, shuts down, then re-raises the signal to us.
            run_http(server, settings, host=host, port=port, runtime=runtime)
        else:
            _run_stdio(server, signals, embedded)
        log.info("stopping on signal" if signals.received else "the client closed the connection; stopping")
    finally:
        _stop(runtime, embedded.worker if embedded else None, grace, signals.since(signals.count))
        signals.restore()


def lighten_embedded_worker() -> None:
    """Before any thread of the embedded worker starts: what keeps its memory down (bench/rss.py)."""
    skip_httpx_cli()
    limit_malloc_arenas()


def skip_httpx_cli() -> None:
    """Import httpx, when the channels do, without its command line (``httpx._main``).

    httpx imports its CLI whenever click, rich and pygments are installed, as they are beside the
    MCP SDK; pygments' lexer table alone is about 0.5 MB of serve's peak RSS. The CLI is never run
    here: ``httpx.main`` becomes httpx's own stub. Nothing changes if httpx is already imported.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # "import" raises ImportError


def limit_malloc_arenas(arenas: int = SERVE_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for the threads that start from now on.

    glibc gives each thread that allocates an arena of its own (up to 8 per core), each keeping
    what it freed; the embedded worker adds a dozen threads (Huey's, maintenance, wake-up,
    listeners), and sharing two arenas measured 0.85 MB less peak RSS after 200 calls (0.55 MB
    net of loading ctypes for this; one arena saved no more). Contention stays low: the GIL
    serializes most allocations anyway. MALLOC_ARENA_MAX, when set, wins.
    Anything but glibc (musl, macOS) has no mallopt of this kind: then nothing happens.
    Returns whether the cap took.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # no glibc, or a libc without mallopt
        return False


def check_priority_settings(settings: Settings) -> None:
    """Refuse to start with an MCP_PUSH_PRIORITY_<EVENT> that is not a level (raise ConfigError)."""
    from mcp_push.render.priority import problems

    found = problems(settings.env)
    if found:
        raise ConfigError("; ".join(found) + " (fix it in the environment or in config.sh, or remove it)")


def _run_stdio(server: Any, signals: StopSignals, embedded: EmbeddedWorker | None) -> None:
    """Serve stdio in a daemon thread until stdin closes or a stop signal arrives.

    The SDK reads stdin in a worker thread that blocks until the client closes the pipe;
    started from a daemon thread, that thread is a daemon too, so it can no longer keep the
    process alive after a SIGTERM (it did: 45 s and counting). The embedded worker starts
    here, in the main thread, once the client is initialized.
    """
    done = threading.Event()
    if embedded is not None:
        server.middleware.insert(0, embedded.after_initialize())

    def run() -> None:
        try:
            server.run("stdio")  # type: ignore[attr-defined]
        except Exception:
            log.exception("the stdio transport failed")
        finally:
            done.set()

    threading.Thread(target=run, name="mcp-push-stdio", daemon=True).start()
    if embedded is not None:
        signals.wait(EMBEDDED_START_AFTER, lambda: done.is_set() or embedded.wanted.is_set())
        if not (signals.received or done.is_set()):
            embedded.start()
    signals.wait(float("inf"), done.is_set)


def _stop(runtime: Runtime, worker: Worker | None, grace: float, hurry: Callable[[], bool]) -> None:
    """Hand off to a drainer, stop the embedded worker, close; each step bounded in time."""
    started = time.monotonic()
    exclude = worker.runtime.owner if worker else None
    _, drainer = bounded(lambda: ensure_delivery(runtime, exclude=exclude), HANDBACK_SECONDS, "the hand-off")
    if worker:
        worker.stop(grace, hurry=hurry)
    if drainer is None and (worker is None or worker.clean):
        # Nothing was left at the first look, or it was queued since: look again now that we are out.
        _, drainer = bounded(lambda: ensure_delivery(runtime), HANDBACK_SECONDS, "the hand-off")
    if drainer is not None:
        log.info("a drain worker delivers what is left")
    if worker is None or worker.clean:
        bounded(runtime.close, CLOSE_SECONDS, "closing the ledger and the queue")
    log.debug("stopped in %.2fs", time.monotonic() - started)
