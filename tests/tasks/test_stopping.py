"""Clean stops and patient starts, against real processes.

A stopped worker hands what it held to another worker at once (not at the next sweep), a
worker started before its PostgreSQL or Redis waits for it, and a drain worker whose
database stopped answering still exits by its deadline.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from mcp_push.notifier import Notifier
from mcp_push.storage.base import LIVE_WITHIN
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.conftest import settings_for
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import delivery_status, wait_until
from tests.services import postgres_schema, redis_db, require_postgres
from tests.tasks.stopping import ArrivalNtfy, proxy, start_worker

WORKER_STOP_DEADLINE = 10.0  # a `worker` must be gone this long after SIGTERM (docker's default stop timeout)
DRAIN_STOP_DEADLINE = 5.0  # the requirement for a drain worker
SWEEP_NEVER = "300"  # so that only the hand-back, never the sweep, can move a released delivery


@pytest.fixture
def slow() -> Iterator[ArrivalNtfy]:
    provider = ArrivalNtfy().start()
    yield provider
    provider.stop()


def _stopped(proc: subprocess.Popen[bytes], deadline: float, log: Path) -> int:
    """Wait for a process asked to stop; fail if it is still running at ``deadline`` seconds."""
    try:
        return proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        tail = log.read_text()[-3000:]
        raise AssertionError(f"still running {deadline}s after it was asked to stop:\n{tail}") from None


def _live(runtime: Runtime) -> int:
    return len(runtime.ledger.live_workers(time.time(), LIVE_WITHIN))


@contextmanager
def _workers(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- a stopped worker hands over at once ---------------------------------------------------


@contextmanager
def _shared(kind: str) -> Iterator[dict[str, str]]:
    """Where the workers meet: one SQLite home, or a PostgreSQL ledger with a Redis or PostgreSQL queue."""
    if kind == "sqlite":
        yield {}
    elif kind == "redis":
        with postgres_schema() as db_url, redis_db() as queue_url:
            yield {"MCP_PUSH_DB_URL": db_url, "MCP_PUSH_QUEUE_URL": queue_url}
    else:
        with postgres_schema() as db_url:
            yield {"MCP_PUSH_DB_URL": db_url, "MCP_PUSH_QUEUE_URL": db_url}


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_a_send_cut_off_by_sigterm_is_sent_by_the_other_worker_at_once(tmp_path, slow, kind) -> None:
    slow.delay = 3.0  # longer than the grace: the first worker gives the send up
    with _shared(kind) as shared:
        env = {**NTFY.env(slow.url), **shared, "MCP_PUSH_SWEEP_SECONDS": SWEEP_NEVER, "MCP_PUSH_STOP_GRACE": "0.5"}
        # One home for all on SQLite; with a shared ledger each process has its own, as on its own host.
        homes = [tmp_path / "home"] * 3 if kind == "sqlite" else [tmp_path / name for name in ("p", "a", "b")]
        producer = Runtime.open(settings_for(homes[0], env))
        first = start_worker(homes[1], env, tmp_path / "first.log")
        second = None
        try:
            wait_until(lambda: _live(producer) == 1, what="the first worker to report in")
            receipt = Notifier(producer).send("handoff", "cut off mid-send")
            slow.arrived(1)
            second = start_worker(homes[2], env, tmp_path / "second.log")
            wait_until(lambda: _live(producer) == 2, what="the second worker to report in")
            asked = time.monotonic()
            first.send_signal(signal.SIGTERM)
            assert _stopped(first, WORKER_STOP_DEADLINE, tmp_path / "first.log") == 0
            wait_until(
                lambda: delivery_status(producer, receipt.ticket) == "delivered", timeout=30, what="the hand-over"
            )
            assert slow.arrivals_after(asked) == ["handoff"]  # exactly one more send, by the second worker
        finally:
            with _workers(first, *([second] if second else [])):
                producer.close()


def test_a_delivery_waiting_out_a_retry_after_moves_to_the_other_worker_without_a_double(tmp_path, slow) -> None:
    home = tmp_path / "home"
    env = {**NTFY.env(slow.url), "MCP_PUSH_SWEEP_SECONDS": SWEEP_NEVER}
    slow.script("rate_limited")  # ntfy 42901: the channel waits 5 s before trying again
    producer = Runtime.open(settings_for(home, env))
    first = start_worker(home, env, tmp_path / "first.log")
    second = None
    try:
        wait_until(lambda: _live(producer) == 1, what="the first worker to report in")
        receipt = Notifier(producer).send("patient", "told to wait")
        slow.arrived(1)
        second = start_worker(home, env, tmp_path / "second.log")
        wait_until(lambda: _live(producer) == 2, what="the second worker to report in")
        first.send_signal(signal.SIGTERM)
        assert _stopped(first, WORKER_STOP_DEADLINE, tmp_path / "first.log") == 0
        first_gone = time.monotonic()
        wait_until(lambda: delivery_status(producer, receipt.ticket) == "delivered", timeout=30, what="the hand-over")
        record = producer.ledger.get_ticket(receipt.ticket)
        assert record is not None and record.deliveries[0].attempts == 2
    finally:
        with _workers(first, *([second] if second else [])):
            producer.close()
    (told, told_at), (sent, sent_at) = slow.arrivals  # the 429, then one send
    assert told == sent == "patient"
    assert sent_at > first_gone, "the stopping worker sat out the provider's wait itself"
    assert sent_at - told_at >= 4.5  # the provider's 5 s were kept by the worker that took over


def test_a_second_stop_request_stops_waiting_for_sends(make_settings, slow) -> None:
    slow.delay = 30.0
    runtime = Runtime.open(make_settings(NTFY.env(slow.url)))
    worker = Worker(runtime, threads=1)
    worker.start()
    receipt = Notifier(runtime).send("stuck", "a provider that takes its time")
    slow.arrived(1)
    hurry = threading.Event()
    released: list[list[int]] = []
    stopper = threading.Thread(target=lambda: released.append(worker.stop(60.0, hurry=hurry.is_set)))
    stopper.start()
    hurry.set()
    stopper.join(timeout=10)
    try:
        assert not stopper.is_alive(), "stop() kept waiting for the send after being told to hurry"
        assert len(released) == 1 and len(released[0]) == 1
        assert delivery_status(runtime, receipt.ticket) == "pending"  # released, queued for the next worker
        assert not worker.clean
    finally:
        runtime.close()


def test_stopping_a_worker_that_never_started(make_settings) -> None:
    runtime = Runtime.open(make_settings({"CONSOLE": "true"}))
    try:
        assert Worker(runtime).stop() == []
    finally:
        runtime.close()


def test_a_new_worker_on_the_runtime_of_a_stopped_one_delivers(make_settings, fake) -> None:
    """What a drain worker does when more work arrived as it finished: a second round on the same runtime."""
    runtime = Runtime.open(make_settings(NTFY.env(fake.url)))
    try:
        first = Worker(runtime, threads=1)
        first.start()
        first.stop()
        second = Worker(runtime, threads=1)
        second.start()
        try:
            receipt = Notifier(runtime).send("again", "after a stop")
            wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="the second round")
        finally:
            second.stop()
    finally:
        runtime.close()


# --- waiting for PostgreSQL and Redis at start -------------------------------------------------


@contextmanager
def _backend(kind: str) -> Iterator[tuple[str, str]]:
    """(setting, URL) of a real, empty backend for one test."""
    if kind == "postgres":
        with postgres_schema() as url:
            yield "MCP_PUSH_DB_URL", url
    else:
        with redis_db() as url:
            yield "MCP_PUSH_QUEUE_URL", url


def _waiting_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if "waiting for it" in line]


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_worker_started_before_its_backend_waits_and_sigterm_ends_the_wait(tmp_path, fake, kind) -> None:
    log = tmp_path / "worker.log"
    with _backend(kind) as (setting, url), proxy(url, mode="reject") as (relay, via):
        worker = start_worker(tmp_path / "home", {**NTFY.env(fake.url), setting: via}, log)
        with _workers(worker):
            wait_until(lambda: _waiting_lines(log) or worker.poll() is not None, what="the waiting line")
            assert worker.poll() is None, log.read_text()
            tried = relay.accepted
            wait_until(lambda: relay.accepted > tried, timeout=30, what="another try after the backoff")
            assert worker.poll() is None, log.read_text()
            (line,) = _waiting_lines(log)  # one line, however many tries
            assert f"127.0.0.1:{relay.port}" in line and "Traceback" not in log.read_text()
            worker.send_signal(signal.SIGTERM)
            assert _stopped(worker, WORKER_STOP_DEADLINE, log) == 0


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_waiting_worker_starts_delivering_once_its_backend_is_up(tmp_path, fake, kind) -> None:
    home, log = tmp_path / "home", tmp_path / "worker.log"
    with _backend(kind) as (setting, url), proxy(url, listening=False) as (relay, via):
        worker = start_worker(home, {**NTFY.env(fake.url), setting: via}, log)
        with _workers(worker):
            wait_until(lambda: _waiting_lines(log) or worker.poll() is not None, what="the waiting line")
            assert worker.poll() is None, log.read_text()
            relay.listen()  # the server comes up
            producer = Runtime.open(settings_for(home, {**NTFY.env(fake.url), setting: url}))
            try:
                wait_until(lambda: _live(producer) == 1, timeout=30, what="the worker to start")
                receipt = Notifier(producer).send("late", "the database came up after the worker")
                wait_until(lambda: delivery_status(producer, receipt.ticket) == "delivered", what="the delivery")
            finally:
                producer.close()
            worker.send_signal(signal.SIGTERM)
            assert _stopped(worker, WORKER_STOP_DEADLINE, log) == 0
    assert len(_waiting_lines(log)) == 1


def test_a_worker_does_not_wait_for_a_database_that_refuses_it(tmp_path) -> None:
    base = require_postgres()
    missing = urlunsplit(urlsplit(base)._replace(path="/mcp_push_no_such_database"))
    log = tmp_path / "worker.log"
    worker = start_worker(tmp_path / "home", {"MCP_PUSH_DB_URL": missing, "CONSOLE": "true"}, log)
    with _workers(worker):
        assert _stopped(worker, WORKER_STOP_DEADLINE, log) == 2  # a setting to fix, not a server to wait for
    text = log.read_text()
    assert "mcp_push_no_such_database" in text and "waiting for it" not in text and "Traceback" not in text


# --- a drain worker whose database hangs ------------------------------------------------------


def _retry_in_an_hour(producer: Runtime) -> None:
    """Something a drainer must wait for (a retry an hour away), so it stays up."""
    receipt = Notifier(producer).send("later", "retry in an hour")
    (delivery,) = producer.ledger.get_ticket(receipt.ticket).deliveries  # type: ignore[union-attr]
    now = time.time()
    assert producer.ledger.claim(delivery.id, "someone", 60, now)
    producer.ledger.defer(delivery.id, "someone", now + 3600, "busy", now, retrying=True)


def test_a_drain_worker_whose_database_hangs_exits_on_sigterm(tmp_path, fake) -> None:
    home, log = tmp_path / "home", tmp_path / "drain.log"
    with postgres_schema() as url, proxy(url) as (relay, via):
        producer = Runtime.open(settings_for(tmp_path / "producer", {**NTFY.env(fake.url), "MCP_PUSH_DB_URL": url}))
        try:
            _retry_in_an_hour(producer)
            drainer = start_worker(home, {**NTFY.env(fake.url), "MCP_PUSH_DB_URL": via}, log, "--drain")
            with _workers(drainer):
                wait_until(lambda: _live(producer) == 1 or drainer.poll() is not None, what="the drainer")
                assert drainer.poll() is None, log.read_text()
                relay.hang()  # the database stops answering, its connections stay open
                wait_until(lambda: relay.swallowed > 0, what="the drainer to wait on the hung database")
                drainer.send_signal(signal.SIGTERM)
                assert _stopped(drainer, DRAIN_STOP_DEADLINE, log) == 0
        finally:
            producer.close()


def test_a_drain_worker_whose_home_is_removed_exits(tmp_path, fake) -> None:
    """Its SQLite files unlinked, every ledger write fails (the database "moved"); it must still notice and go."""
    home, log = tmp_path / "home", tmp_path / "drain.log"
    producer = Runtime.open(settings_for(home, NTFY.env(fake.url)))
    try:
        _retry_in_an_hour(producer)
        drainer = start_worker(home, NTFY.env(fake.url), log, "--drain")
        with _workers(drainer):
            wait_until(lambda: _live(producer) == 1 or drainer.poll() is not None, what="the drainer")
            assert drainer.poll() is None, log.read_text()
            shutil.rmtree(home)
            assert _stopped(drainer, WORKER_STOP_DEADLINE, log) == 0
    finally:
        producer.close()
    assert "Traceback" not in log.read_text()
