"""The MCP server: tools, prompt, and the process around them (embedded worker, clean exit)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mcp_push.config import Settings
from mcp_push.notifier import Notifier
from mcp_push.server.app import build_server
from mcp_push.tasks.lifecycle import CLOSE_SECONDS, HANDBACK_SECONDS, SERVE_GRACE_MAX, StopSignals, bounded, stop_grace
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker, ensure_delivery

log = logging.getLogger(__name__)


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
    grace = stop_grace(settings, SERVE_GRACE_MAX)
    if transport == "http":
        from mcp_push.server.http import SHUTDOWN_GRACE, check_http_settings

        check_http_settings(settings, host)  # refuse before anything starts
        grace = max(0.0, min(grace, SERVE_GRACE_MAX - SHUTDOWN_GRACE))  # uvicorn's own grace comes first
    runtime = Runtime.open(settings)
    server = build_server(Notifier(runtime))
    worker = Worker(runtime) if embedded_worker else None
    if worker:
        worker.start()
    signals = StopSignals().install()
    try:
        if transport == "http":
            from mcp_push.server.http import run_http

            # uvicorn takes SIGTERM/SIGINT while it runs, shuts down, then re-raises the signal to us.
            run_http(server, settings, host=host, port=port)
        else:
            _run_stdio(server, signals)
        log.info("stopping on signal" if signals.received else "the client closed the connection; stopping")
    finally:
        _stop(runtime, worker, grace, signals.since(signals.count))
        signals.restore()


def _run_stdio(server: object, signals: StopSignals) -> None:
    """Serve stdio in a daemon thread until stdin closes or a stop signal arrives.

    The SDK reads stdin in a worker thread that blocks until the client closes the pipe;
    started from a daemon thread, that thread is a daemon too, so it can no longer keep the
    process alive after a SIGTERM (it did: 45 s and counting).
    """
    done = threading.Event()

    def run() -> None:
        try:
            server.run("stdio")  # type: ignore[attr-defined]
        except Exception:
            log.exception("the stdio transport failed")
        finally:
            done.set()

    threading.Thread(target=run, name="mcp-push-stdio", daemon=True).start()
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
