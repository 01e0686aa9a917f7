"""Past one machine: several `mcp-push worker` processes on one PostgreSQL ledger and a shared queue.

Each worker process gets an MCP_PUSH_HOME of its own, as if on its own host: all they share
is the ledger (PostgreSQL) and the queue (Redis or PostgreSQL). Every delivery must reach
its provider exactly once, Telegram's one-message-a-second limit must hold across all of them,
and their sweeps (every 0.2 s, all at once) must not double anything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from mcp_push.notifier import Notifier
from mcp_push.storage import NewTicket
from mcp_push.storage.base import LIVE_WITHIN
from mcp_push.tasks.runtime import Runtime
from tests.conftest import settings_for
from tests.fakes.base import Recorded
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env
from tests.services import postgres_schema, redis_db

pytestmark = pytest.mark.slow

PROCESSES = 3
THREADS = 4
NOTIFICATIONS = 200  # through the queue, each with two duplicate tasks
LOST = 20  # in the ledger only, as if the producer died before enqueueing: the sweeps find them
TELEGRAM_MESSAGES = 6  # one chat, at most one message a second across every process


class TimedTelegram(FakeTelegram):
    """The Telegram fake, noting when each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def check(self, request: Recorded) -> None:
        with self._lock:
            self.arrivals.append(time.monotonic())
        super().check(request)


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    provider = FakeNtfy().start()
    yield provider
    provider.stop()


@pytest.fixture
def telegram() -> Iterator[TimedTelegram]:
    provider = TimedTelegram()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(params=["redis", "postgres"])
def shared(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The settings every process shares: the PostgreSQL ledger, and the queue on Redis or PostgreSQL."""
    with postgres_schema() as db_url:
        if request.param == "redis":
            with redis_db() as queue_url:
                yield {"MCP_PUSH_DB_URL": db_url, "MCP_PUSH_QUEUE_URL": queue_url}
        else:
            yield {"MCP_PUSH_DB_URL": db_url, "MCP_PUSH_QUEUE_URL": db_url}


def _start_worker(home: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "worker", "--workers", str(THREADS)],
            env=server_env(home, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp_path.glob("*.log")))


def test_worker_processes_share_the_ledger_the_queue_and_the_rate_limits(tmp_path, ntfy, telegram, shared) -> None:
    env = {
        **NTFY.env(ntfy.url),
        **TELEGRAM.env(telegram.url),
        **shared,
        "MCP_PUSH_SWEEP_SECONDS": "0.2",
        "MCP_PUSH_RUN_BUDGET": "100000",
        "MCP_PUSH_LOG": "WARNING",
        "MCP_PUSH_SOURCE": "off",  # bodies are counted as sent
    }
    producer = Runtime.open(settings_for(tmp_path / "producer", env))
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(PROCESSES):
            workers.append(_start_worker(tmp_path / f"host{i}", env, tmp_path / f"worker{i}.log"))

        def crashed() -> bool:
            return any(w.poll() is not None for w in workers)

        def reported() -> bool:
            return len(producer.ledger.live_workers(time.time(), LIVE_WITHIN)) == PROCESSES or crashed()

        def settled() -> bool:
            return producer.ledger.unfinished_count() == 0 or crashed()

        wait_until(reported, timeout=60, what="every worker process to report in")
        assert not crashed(), _logs(tmp_path)

        notifier = Notifier(producer)
        expected_ntfy = [f"notification {i:03d}" for i in range(NOTIFICATIONS)]
        for i, body in enumerate(expected_ntfy):
            receipt = notifier.send(f"n{i:03d}", body, channels=["ntfy"], run_id=f"run-{i % 7}")
            # Two more tasks for the same delivery, as a redelivering queue or racing sweeps would make:
            # workers in different processes race to claim it, and exactly one may send.
            (delivery,) = producer.ledger.get_ticket(receipt.ticket).deliveries  # type: ignore[union-attr]
            producer.enqueue(delivery.id)
            producer.enqueue(delivery.id)
        # Committed to the ledger, never enqueued, and old enough to be stale: only a sweep finds these
        # (once the queue is empty), and all three processes sweep every 0.2 s, so each may be enqueued
        # several times.
        lost_at = time.time() - 600
        expected_lost = [f"lost {i}" for i in range(LOST)]
        for i, body in enumerate(expected_lost):
            producer.ledger.create_ticket(NewTicket(f"tk-lost-{i}", "lost-run", "Lost", body, lost_at, ("ntfy",)))
        wait_until(settled, timeout=120, what="the ntfy deliveries to settle")
        assert not crashed(), _logs(tmp_path)

        # Then a burst on one Telegram chat, once every process has its HTTP clients warm (a cold
        # client's first request can lag its rate slot by a few hundred milliseconds).
        expected_telegram = [f"telegram {i}" for i in range(TELEGRAM_MESSAGES)]
        for body in expected_telegram:
            notifier.send("Rate limited", body, channels=["telegram"], run_id="tg-run")
        wait_until(settled, timeout=60, what="the telegram deliveries to settle")
        total = NOTIFICATIONS + LOST + TELEGRAM_MESSAGES
        assert not crashed(), _logs(tmp_path)
        time.sleep(1.0)  # let any duplicate task in flight show itself

        # Exactly once: every body arrived, none twice, nothing else.
        ntfy_bodies = Counter(r.body.decode() for r in ntfy.requests)
        assert ntfy_bodies == Counter(expected_ntfy + expected_lost), (
            f"doubled: {[b for b, n in ntfy_bodies.items() if n > 1][:10]}, "
            f"missing: {sorted(set(expected_ntfy + expected_lost) - set(ntfy_bodies))[:10]}"
        )
        telegram_texts = Counter(r.json()["text"].splitlines()[-1] for r in telegram.requests)
        assert telegram_texts == Counter(expected_telegram)
        assert ntfy.problems == [] and telegram.problems == []

        # The ledger agrees: every delivery delivered after exactly one attempt.
        deliveries = producer.ledger.dump_table("deliveries")  # type: ignore[attr-defined]
        assert len(deliveries) == total
        assert Counter(d["status"] for d in deliveries) == {"delivered": total}
        assert Counter(d["attempts"] for d in deliveries) == {1: total}

        # One Telegram message a second per chat, across every process: the slots the ledger handed out
        # (attempts start right after taking one) and what the provider saw (a little slack for HTTP jitter).
        tickets = producer.ledger.run_tickets("tg-run")
        started = sorted(a.started_at for t in tickets for a in producer.ledger.attempts(t.ticket))
        arrivals = sorted(telegram.arrivals)
        slot_gaps = [round(b - a, 3) for a, b in pairwise(started)]
        seen_gaps = [round(b - a, 3) for a, b in pairwise(arrivals)]
        assert len(started) == len(arrivals) == TELEGRAM_MESSAGES
        assert min(slot_gaps) >= 0.95 and min(seen_gaps) >= 0.9, (slot_gaps, seen_gaps)

        # A graceful stop: each process hands back nothing (all settled) and leaves the roll of live workers.
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(timeout=30) == 0, _logs(tmp_path)
        assert producer.ledger.live_workers(time.time(), LIVE_WITHIN) == []
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=10)
        producer.close()
