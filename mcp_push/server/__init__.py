"""The MCP server: tools, prompt, and the process around them (embedded worker, clean exit)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from mcp_push.config import Settings
from mcp_push.notifier import Notifier
from mcp_push.server.app import build_server
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker, ensure_delivery

log = logging.getLogger(__name__)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    settings: Settings,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    embedded_worker: bool = True,
) -> None:
    """Run the MCP server until the client disconnects or SIGTERM/SIGINT arrives.

    On the way out, whatever is still queued is handed to a detached drain worker, so a
    notification sent a moment before exit is still delivered promptly.
    """
    if transport not in ("stdio", "http"):
        raise ValueError(f"unsupported transport {transport!r}")
    if transport == "http":
        from mcp_push.server.http import check_http_settings

        check_http_settings(settings, host)  # refuse before anything starts
    runtime = Runtime.open(settings)
    server = build_server(Notifier(runtime))
    worker = Worker(runtime) if embedded_worker else None
    if worker:
        worker.start()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if transport == "http":
            from mcp_push.server.http import run_http

            run_http(server, settings, host=host, port=port)
        else:
            server.run("stdio")
    except KeyboardInterrupt:
        log.info("stopping on signal")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if worker:
            worker.stop(timeout=2.0)
        if ensure_delivery(runtime) is not None:
            log.info("handed the remaining deliveries to a drain worker")
        runtime.close()
