"""/metrics and /healthz: numbers read from the ledger at scrape time, moving as deliveries happen."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mcp_push.errors import ConfigError
from mcp_push.metrics import health, worker_server
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import wait_until
from tests.server.conftest import server_env
from tests.services import postgres_schema

TOKEN = "metrics-token-0123456789abcdef0123456789"


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by Prometheus' own text parser: {(name, labels): value}."""
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_until(url: str, want: float, name: str, what: str, **labels: str) -> dict:
    """Scrape ``url`` until ``name{labels}`` reads ``want``; that scrape's samples."""
    return wait_until(lambda: (s := scrape(url)) and value(s, name, **labels) == want and s, what=what)


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request, make_settings, fake) -> Iterator[Runtime]:
    """A runtime with its queue, on the SQLite default or on a PostgreSQL ledger and queue."""
    with contextlib.ExitStack() as stack:
        env = NTFY.env(fake.url)
        if request.param == "postgres":
            url = stack.enter_context(postgres_schema())
            env = {**env, "MCP_PUSH_DB_URL": url, "MCP_PUSH_QUEUE_URL": url}
        opened = Runtime.open(make_settings(env), queue=True)
        stack.callback(opened.close)
        yield opened


@pytest.fixture
def served(runtime: Runtime) -> Iterator[str]:
    server = worker_server(runtime, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_numbers_move_as_deliveries_happen(runtime: Runtime, served: str, fake) -> None:
    notifier = Notifier(runtime)
    before = scrape(f"{served}/metrics")
    assert value(before, "mcp_push_deliveries", channel="ntfy", status="delivered") == 0
    assert value(before, "mcp_push_workers_alive") == 0
    assert value(before, "mcp_push_source_up", source="ledger") == 1
    assert value(before, "mcp_push_source_up", source="queue") == 1
    assert value(before, "mcp_push_asks_waiting") == 0

    receipt = notifier.send("Build done", "all green")
    queued = scrape(f"{served}/metrics")
    assert value(queued, "mcp_push_deliveries", channel="ntfy", status="pending") == 1
    assert value(queued, "mcp_push_oldest_unfinished_delivery_age_seconds") >= 0
    depth = value(queued, "mcp_push_queue_depth", state="queued")  # 0 on SQLite (no worker to hand it to), 1 on PG
    runtime.enqueue_many([d.id for d in runtime.ledger.get_ticket(receipt.ticket).deliveries])
    assert value(scrape(f"{served}/metrics"), "mcp_push_queue_depth", state="queued") == depth + 1

    fake.script("transient")  # the first try fails and is retried at once by the same task
    worker = Worker(runtime, threads=1)
    worker.start()
    try:
        after = scrape_until(
            f"{served}/metrics", 1, "mcp_push_deliveries", "the delivery to show", channel="ntfy", status="delivered"
        )
        assert value(after, "mcp_push_deliveries", channel="ntfy", status="pending") == 0
        assert value(after, "mcp_push_attempts", channel="ntfy", outcome="transient") == 1
        assert value(after, "mcp_push_attempts", channel="ntfy", outcome="delivered") == 1
        assert value(after, "mcp_push_oldest_unfinished_delivery_age_seconds") == 0
        assert value(after, "mcp_push_queue_depth", state="queued") == 0
        assert value(after, "mcp_push_workers_alive") == 1

        fake.script("permanent")
        notifier.send("Deploy", "failed")
        failed = scrape_until(
            f"{served}/metrics", 1, "mcp_push_deliveries", "the failure to show", channel="ntfy", status="failed"
        )
        assert value(failed, "mcp_push_attempts", channel="ntfy", outcome="permanent") == 1
    finally:
        worker.stop(timeout=2)
    assert fake.problems == []


def test_a_delivery_left_waiting_ages(runtime: Runtime, served: str) -> None:
    Notifier(runtime).send("Waiting", "nobody delivers this")
    first = value(scrape(f"{served}/metrics"), "mcp_push_oldest_unfinished_delivery_age_seconds")
    later = wait_until(
        lambda: (
            (v := value(scrape(f"{served}/metrics"), "mcp_push_oldest_unfinished_delivery_age_seconds")) > first and v
        ),
        what="the age to grow",
    )
    assert later > first


def test_healthz_is_200_when_ledger_and_queue_answer(served: str) -> None:
    response = httpx.get(f"{served}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ledger": "ok", "queue": "ok"}


class BrokenQueue:
    def pending_count(self) -> int:
        raise ConnectionError("redis is gone")


def test_healthz_is_503_with_the_reason_when_the_queue_fails(runtime: Runtime, served: str) -> None:
    real = runtime._huey
    runtime._huey = BrokenQueue()  # type: ignore[assignment]
    try:
        response = httpx.get(f"{served}/healthz", timeout=10)
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "ledger": "ok", "queue": "ConnectionError: redis is gone"}
        samples = scrape(f"{served}/metrics")  # the ledger's numbers still come, the queue says it is down
        assert value(samples, "mcp_push_source_up", source="queue") == 0
        assert value(samples, "mcp_push_source_up", source="ledger") == 1
    finally:
        runtime._huey = real


def test_a_hung_ledger_is_unhealthy_within_the_timeout(runtime: Runtime) -> None:
    release = threading.Event()

    class Hung:
        def unfinished_count(self) -> int:
            release.wait(30)
            return 0

    stub: Any = type("Stub", (), {"ledger": Hung(), "huey": runtime.huey})()
    try:
        ok, parts = health(stub, timeout=0.2)
    finally:
        release.set()
    assert not ok
    assert parts["ledger"].startswith("TimeoutError") and parts["queue"] == "ok"


def test_the_token_guards_the_worker_endpoints(make_settings, fake) -> None:
    runtime = Runtime.open(make_settings({**NTFY.env(fake.url), "MCP_PUSH_HTTP_TOKEN": TOKEN}), queue=True)
    server = worker_server(runtime, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{base}/healthz", headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
        assert value(
            scrape(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"}), "mcp_push_source_up", source="ledger"
        )
    finally:
        server.shutdown()
        server.server_close()
        runtime.close()


def test_beyond_loopback_needs_a_token(runtime: Runtime) -> None:
    with pytest.raises(ConfigError, match="MCP_PUSH_HTTP_TOKEN"):
        worker_server(runtime, "0.0.0.0", 0)


# --- the worker command -------------------------------------------------------------------------------


def test_worker_metrics_port_serves_what_send_queues(tmp_path: Path, fake) -> None:
    env = server_env(tmp_path / "home", NTFY.env(fake.url))
    worker = subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "worker", "--metrics-port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert worker.stderr is not None
        line = worker.stderr.readline()
        found = re.search(r"metrics at (http://127\.0\.0\.1:\d+)/metrics", line)
        assert found, line
        base = found.group(1)
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        wait_until(lambda: value(scrape(f"{base}/metrics"), "mcp_push_workers_alive") >= 1, what="the heartbeat")
        sent = subprocess.run(
            [sys.executable, "-m", "mcp_push", "send", "Nightly", "412 tests pass"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        wait_until(
            lambda: value(scrape(f"{base}/metrics"), "mcp_push_deliveries", channel="ntfy", status="delivered") == 1,
            what="the delivery in the worker's /metrics",
        )
        assert fake.wait_message()["title"] == "Nightly"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert fake.problems == []


PROBE = """
import sys
import mcp_push.tasks.drain as drain
drain.spawn_drainer = lambda settings: None
from mcp_push.cli import main
code = main(sys.argv[1:])
print(code, sorted(m for m in ("prometheus_client", "tomlkit") if m in sys.modules))
"""


def test_producers_do_not_load_prometheus_client_or_tomlkit(tmp_path: Path, fake) -> None:
    env = server_env(tmp_path / "home", NTFY.env(fake.url))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "send", "t", "c"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr
