"""Never lost, never needlessly doubled, never spam: faults against real processes and fake providers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from mcp_push.channels import HttpClients
from mcp_push.notifier import Notifier
from mcp_push.storage import SqliteLedger
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.fakes.gotify import CASE as GOTIFY
from tests.fakes.gotify import FakeGotify
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy, title_of
from tests.helpers import wait_until
from tests.server.conftest import server_env


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    provider = FakeNtfy().start()
    yield provider
    provider.stop()


def _worker_process(home, env: dict[str, str], threads: int = 4) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "worker", "--workers", str(threads)],
        env=server_env(home, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_mid_burst_loses_nothing(tmp_path, make_settings, ntfy) -> None:
    home = tmp_path / "home"
    env = {**NTFY.env(ntfy.url), "MCP_PUSH_LEASE_SECONDS": "2", "MCP_PUSH_SWEEP_SECONDS": "0.5"}
    ntfy.delay = 0.02
    runtime = Runtime.open(make_settings(env, home=home))
    notifier = Notifier(runtime)
    total = 200
    for i in range(total):
        notifier.send(f"n{i:03d}", f"burst message {i}", run_id=f"burst-{i}")
    first = _worker_process(home, env)
    try:
        wait_until(lambda: len(ntfy.requests) >= 40, timeout=60, what="the burst to be under way")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    in_flight = sum(1 for d in runtime.ledger.dump_table("deliveries") if d["status"] == "in_flight")  # type: ignore[attr-defined]
    received_at_kill = len(ntfy.requests)
    assert received_at_kill < total, "the worker finished before it could be killed; slow the fake down"
    second = _worker_process(home, env)
    try:
        wait_until(lambda: runtime.ledger.unfinished_count() == 0, timeout=120, what="every delivery after the kill")
    finally:
        second.terminate()
        second.wait(timeout=10)
    titles = Counter(r.headers["title"] for r in ntfy.requests)
    assert set(titles) == {f"n{i:03d}" for i in range(total)}, "a notification was lost"
    duplicates = sum(count - 1 for count in titles.values())
    assert duplicates <= in_flight, f"{duplicates} duplicates but only {in_flight} deliveries were in flight"
    statuses = Counter(d["status"] for d in runtime.ledger.dump_table("deliveries"))  # type: ignore[attr-defined]
    assert statuses == {"delivered": total}
    runtime.close()


@pytest.fixture
def gotify() -> Iterator[FakeGotify]:
    provider = FakeGotify().start()
    yield provider
    provider.stop()


def test_retry_after_is_honoured_and_the_gap_measured(make_settings, gotify) -> None:
    gotify.script("rate_limited", "ok")  # 429 with Retry-After: 2
    runtime = Runtime.open(make_settings(GOTIFY.env(gotify.url)))
    worker = Worker(runtime, threads=1)
    worker.start()
    try:
        receipt = Notifier(runtime).send("t", "c")
        wait_until(lambda: runtime.ledger.get_ticket(receipt.ticket).deliveries[0].status == "delivered")  # type: ignore[union-attr]
    finally:
        worker.stop()
        runtime.close()
    first, second = gotify.requests
    gap = second.at - first.at
    assert 2.0 <= gap < 3.5, f"waited {gap:.2f}s for a Retry-After of 2s"


def _deliver_once(make_settings, env: dict[str, str], clients: HttpClients | None = None):
    settings = make_settings({**env, "MCP_PUSH_TRY_ATTEMPTS": "1"})
    runtime = Runtime.open(settings)
    if clients is not None:
        runtime.deliverer.clients = clients
    receipt = Notifier(runtime).send("t", "c")
    delivery = runtime.ledger.get_ticket(receipt.ticket).deliveries[0]  # type: ignore[union-attr]
    outcome = runtime.deliverer.run(delivery.id)
    final = runtime.ledger.get_delivery(delivery.id)
    runtime.close()
    return outcome, final


def test_connection_refused_is_transient(make_settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when we leave: nothing listens there
    outcome, d = _deliver_once(make_settings, {"GOTIFY_URL": f"http://127.0.0.1:{port}", "GOTIFY_TOKEN": "tok-12345"})
    assert outcome == "retrying" and d.status == "retrying"
    assert "could not reach Gotify" in d.last_error


class _UnresolvableClients(HttpClients):
    """Every request fails as httpx fails for a host name that does not resolve (no DNS query is made)."""

    def get(self, proxy: str | None = None) -> httpx.Client:
        def fail(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

        return httpx.Client(transport=httpx.MockTransport(fail))


def test_unresolvable_host_is_transient(make_settings) -> None:
    env = {"GOTIFY_URL": "http://push.invalid", "GOTIFY_TOKEN": "tok-12345"}
    outcome, d = _deliver_once(make_settings, env, _UnresolvableClients(5))
    assert outcome == "retrying"
    assert "Name or service not known" in d.last_error and "tok-12345" not in d.last_error


def test_slow_provider_hits_the_timeout(make_settings, gotify) -> None:
    gotify.delay = 2.0
    outcome, d = _deliver_once(make_settings, {**GOTIFY.env(gotify.url), "MCP_PUSH_HTTP_TIMEOUT": "0.3"})
    assert outcome == "retrying" and "did not answer in time" in d.last_error  # the timeout ended the attempt


def test_idempotency_under_concurrent_processes(tmp_path, ntfy) -> None:
    home = tmp_path / "home"
    env = server_env(home, NTFY.env(ntfy.url))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "send", "Deploy", f"attempt {i}", "--idempotency-key", "deploy-77"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    tickets = set()
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        tickets.add(out.split()[0])
    assert len(tickets) == 1
    wait_until(lambda: len(ntfy.requests) >= 1, what="the one delivery")
    ledger = SqliteLedger(home / "ledger.sqlite3")
    try:
        wait_until(lambda: ledger.unfinished_count() == 0, what="drain")
        assert len(ledger.dump_table("tickets")) == 1
    finally:
        ledger.close()
    assert len(ntfy.requests) == 1


def test_loop_guard_coalesces_identical_notifications(make_settings, ntfy) -> None:
    runtime = Runtime.open(make_settings(NTFY.env(ntfy.url)))
    notifier = Notifier(runtime)
    first = notifier.send("Stuck?", "same text", run_id="loop-1")
    again = notifier.send("Stuck?", "same text", run_id="loop-1")
    other_run = notifier.send("Stuck?", "same text", run_id="loop-2")
    assert again.duplicate and again.ticket == first.ticket and "coalesced" in (again.reason or "")
    assert not other_run.duplicate
    runtime.close()


def test_run_budget_records_the_rest_and_pushes_one_notice(make_settings, ntfy) -> None:
    runtime = Runtime.open(make_settings({**NTFY.env(ntfy.url), "MCP_PUSH_RUN_BUDGET": "3"}))
    notifier = Notifier(runtime)
    receipts = [notifier.send(f"step {i}", f"progress {i}", run_id="chatty") for i in range(6)]
    assert [r.status for r in receipts] == ["queued"] * 3 + ["recorded"] * 3
    assert all("MCP_PUSH_RUN_BUDGET=3" in (r.reason or "") for r in receipts[3:])
    worker = Worker(runtime, threads=2)
    worker.start()
    try:
        wait_until(lambda: runtime.ledger.unfinished_count() == 0 and len(ntfy.requests) >= 4, what="deliveries")
    finally:
        worker.stop()
    titles = sorted(title_of(r) for r in ntfy.requests)
    assert titles[:3] == ["step 0", "step 1", "step 2"]
    assert len(titles) == 4 and "hit its notification budget" in titles[3]
    doc = notifier.status(run_id="chatty")
    assert [t.event for t in doc.tickets].count("notice") == 1
    runtime.close()


def test_dead_letters_are_kept_and_retried(tmp_path, ntfy) -> None:
    home = tmp_path / "home"
    env = server_env(home, NTFY.env(ntfy.url))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", *args], env=env, capture_output=True, text=True, timeout=60
        )

    ntfy.default_mode = "permanent"
    failed = cli("send", "Deploy", "failed once", "--wait", "20", "--json")
    assert failed.returncode == 1
    ticket = json.loads(failed.stdout)["tickets"][0]["ticket"]
    ntfy.default_mode = "ok"
    retried = cli("retry", ticket)
    assert retried.returncode == 0 and "queued 1 failed delivery again" in retried.stdout
    status = cli("status", ticket, "--wait", "20", "--json")
    assert status.returncode == 0, status.stdout
    delivery = json.loads(status.stdout)["tickets"][0]["deliveries"][0]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert cli("retry", "--failed", "--channel", "ntfy", "--since", "1h").stdout.startswith("queued 0 ")
    assert cli("retry").returncode == 2 and cli("retry", "--failed", "--since", "soon").returncode == 2


def test_purge_command(tmp_path, ntfy) -> None:
    home = tmp_path / "home"
    env = server_env(home, NTFY.env(ntfy.url))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", *args], env=env, capture_output=True, text=True, timeout=60
        )

    assert run("send", "t", "c", "--wait", "20").returncode == 0
    assert run("purge", "--older-than", "1h").stdout.strip() == "purged 0 settled notifications"
    time.sleep(0.01)  # the notification must be strictly older than the cut-off below
    assert run("purge", "--older-than", "0.001s").stdout.strip() == "purged 1 settled notification"


def test_locked_ledger_waits_instead_of_failing(make_settings) -> None:
    settings = make_settings({"CONSOLE": "true"})
    runtime = Runtime.open(settings)
    blocker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(1.5); c.execute('COMMIT')",
            str(settings.ledger_path),
        ],
        stdout=subprocess.PIPE,
    )
    assert blocker.stdout and blocker.stdout.readline().strip() == b"locked"
    started = time.monotonic()
    receipt = Notifier(runtime).send("t", "c")  # blocks on the lock, then succeeds
    assert time.monotonic() - started >= 1.0
    assert receipt.status == "queued"
    blocker.wait()
    runtime.close()


@pytest.mark.parametrize("broken", ["ledger.sqlite3", "queue.sqlite3"])
def test_corrupted_home_is_one_clear_error(tmp_path, broken) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / broken).write_bytes(b"this is not a database" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "status", "run-1"],
        env=server_env(home, {}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert broken in done.stderr and "Traceback" not in done.stderr
    assert os.path.exists(home / broken)
