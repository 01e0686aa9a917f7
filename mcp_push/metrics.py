"""Prometheus metrics and a health check, computed from the ledger when they are asked for.

Every number is read from the ledger (and the queue) at scrape time by a custom collector, so a
worker, a server and any other process sharing the ledger report the same truth, and nothing is
counted in memory that a restart would lose. The counts are of what the ledger holds: settled
notifications leave it after ``MCP_PUSH_RETENTION_DAYS``, so they are gauges, not counters.

Served at ``/metrics`` and ``/healthz`` by the HTTP transport (behind its token) and by
``mcp-push worker --metrics-port P`` (``worker_server``). prometheus_client is imported here
only, and only when metrics are served: producers never load it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

from mcp_push.errors import ConfigError
from mcp_push.storage.base import live_worker_count

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from mcp_push.tasks.runtime import Runtime

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
T = TypeVar("T")


class LedgerCollector:
    """Yields the metric families from the ledger and the queue each time Prometheus scrapes."""

    def __init__(self, runtime: Runtime, clock: Callable[[], float] = time.time):
        self.runtime = runtime
        self.clock = clock

    def describe(self) -> list[Any]:
        return []  # computed at scrape time: nothing to check at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        now = self.clock()
        ledger = self.runtime.ledger
        up = GaugeMetricFamily(
            "mcp_push_source_up", "1 when this part answered the scrape, 0 when it failed", labels=["source"]
        )

        deliveries = GaugeMetricFamily(
            "mcp_push_deliveries",
            "Deliveries in the ledger by channel and status (pending, in_flight, retrying, delivered, failed)",
            labels=["channel", "status"],
        )
        attempts = GaugeMetricFamily(
            "mcp_push_attempts",
            "Attempts at providers recorded in the ledger, by channel and outcome",
            labels=["channel", "outcome"],
        )
        oldest = GaugeMetricFamily(
            "mcp_push_oldest_unfinished_delivery_age_seconds",
            "Age of the oldest delivery not yet delivered or failed (0 when there is none)",
        )
        workers = GaugeMetricFamily("mcp_push_workers_alive", "Workers (any host) with a recent heartbeat")
        asks = GaugeMetricFamily("mcp_push_asks_waiting", "Questions waiting for a person's answer")
        try:
            for channel, status, count in ledger.delivery_counts():
                deliveries.add_metric([channel, status], count)
            totals: dict[tuple[str, str], int] = {}
            for channel, _slot, outcome, n in ledger.outcome_counts(0.0, 1e12):  # one bucket: all time
                totals[channel, outcome] = totals.get((channel, outcome), 0) + n
            for (channel, outcome), n in sorted(totals.items()):
                attempts.add_metric([channel, outcome], n)
            start = ledger.oldest_unfinished()
            oldest.add_metric([], max(0.0, now - float(start)) if start is not None else 0.0)
            workers.add_metric([], live_worker_count(ledger, now))
            asks.add_metric([], len(ledger.waiting_asks(now)))
            up.add_metric(["ledger"], 1)
            yield from (deliveries, attempts, oldest, workers, asks)
        except Exception:
            log.warning("the ledger could not be read for /metrics", exc_info=True)
            up.add_metric(["ledger"], 0)
        queue = GaugeMetricFamily(
            "mcp_push_queue_depth", "Tasks in the queue: queued now, or scheduled for later", labels=["state"]
        )
        try:
            huey = self.runtime.huey
            queue.add_metric(["queued"], int(huey.pending_count()))
            queue.add_metric(["scheduled"], int(huey.scheduled_count()))
            up.add_metric(["queue"], 1)
            yield queue
        except Exception:
            log.warning("the queue could not report its depth for /metrics", exc_info=True)
            up.add_metric(["queue"], 0)
        yield up


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """A registry holding only the ledger's numbers (no process metrics: they differ per process)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(runtime))  # type: ignore[arg-type]
    return registry


def render(registry: CollectorRegistry) -> bytes:
    from prometheus_client import generate_latest

    return generate_latest(registry)


def _within(call: Callable[[], T], seconds: float) -> T:
    """``call()``'s result, or TimeoutError when it takes longer (a hung database must not hang the probe)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:
            box.append((False, exc))

    thread = threading.Thread(target=run, name="mcp-push-health", daemon=True)
    thread.start()
    thread.join(seconds)
    if not box:
        raise TimeoutError(f"no answer within {seconds:g}s")
    ok, value = box[0]
    if not ok:
        raise value
    return value


def health(runtime: Runtime, timeout: float = HEALTH_TIMEOUT) -> tuple[bool, dict[str, str]]:
    """(healthy, {"ledger": "ok" | why, "queue": "ok" | why}): both must answer within ``timeout``."""
    checks: dict[str, Callable[[], object]] = {
        "ledger": runtime.ledger.unfinished_count,
        "queue": lambda: runtime.huey.pending_count(),
    }
    result: dict[str, str] = {}
    for name, probe in checks.items():
        try:
            _within(probe, timeout)
            result[name] = "ok"
        except Exception as exc:
            result[name] = f"{type(exc).__name__}: {exc}"[:300]
    return all(v == "ok" for v in result.values()), result


def health_body(ok: bool, parts: dict[str, str]) -> bytes:
    import json

    return (json.dumps({"status": "ok" if ok else "unavailable", **parts}) + "\n").encode()


# --- the HTTP transport's routes (starlette, inside its Gate) --------------------------------------


def http_routes(runtime: Runtime) -> list[Any]:
    """/metrics and /healthz for the streamable-HTTP app."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    registry = registry_for(runtime)

    async def metrics(request: Request) -> Response:
        return Response(await run_in_threadpool(render, registry), media_type=CONTENT_TYPE)

    async def healthz(request: Request) -> Response:
        ok, parts = await run_in_threadpool(health, runtime)
        return Response(health_body(ok, parts), status_code=200 if ok else 503, media_type="application/json")

    return [Route("/metrics", metrics, methods=["GET"]), Route("/healthz", healthz, methods=["GET"])]


# --- the worker's own small server ----------------------------------------------------------------


def check_metrics_host(host: str, token: str | None) -> None:
    from mcp_push.http_guard import is_loopback

    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to serve metrics on {host or 'every address'} without a token: set MCP_PUSH_HTTP_TOKEN "
            "(Prometheus sends it as `authorization: credentials`), or keep --metrics-host 127.0.0.1"
        )


def worker_server(runtime: Runtime, host: str, port: int) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz on ``host:port`` in a daemon thread; the caller shuts it down.

    With MCP_PUSH_HTTP_TOKEN set, both need ``Authorization: Bearer <token>``.
    """
    from mcp_push.http_guard import token_matches

    token = runtime.settings.http_token
    check_metrics_host(host, token)
    registry = registry_for(runtime)

    class Handler(BaseHTTPRequestHandler):
        server_version = "mcp-push"
        sys_version = ""

        def do_GET(self) -> None:
            if token and not token_matches(self.headers.get("Authorization"), token):
                self._send(401, b'{"error": "unauthorized"}\n', "application/json", {"WWW-Authenticate": "Bearer"})
                return
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, render(registry), CONTENT_TYPE)
            elif path == "/healthz":
                ok, parts = health(runtime)
                self._send(200 if ok else 503, health_body(ok, parts), "application/json")
            else:
                self._send(404, b'{"error": "not found: /metrics and /healthz live here"}\n', "application/json")

        def _send(self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("metrics: " + format, *args)

    bare = host.strip().strip("[]")
    server_class = ThreadingHTTPServer
    if ":" in bare:
        import socket

        class V6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = V6
    try:
        server = server_class((bare, port), Handler)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); choose another --metrics-port"
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="mcp-push-metrics", daemon=True).start()
    shown = f"[{bare}]" if ":" in bare else bare
    print(f"mcp-push: metrics at http://{shown}:{server.server_address[1]}/metrics", file=sys.stderr)
    return server
