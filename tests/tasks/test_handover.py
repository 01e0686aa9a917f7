"""Producers on the SQLite queue commit and hand the ids to a worker; they never open the queue.

The ledger is the truth: a delivery that no worker was listening for is enqueued by the next
worker to start, and one handed to a worker is enqueued by exactly that worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.wakeup import WakeListener, hand_over
from mcp_push.tasks.worker import Worker
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import delivery_status, wait_until
from tests.services import postgres_schema, redis_db


def test_a_producer_hands_over_to_a_live_worker_without_opening_the_queue(make_settings, fake) -> None:
    settings = make_settings(NTFY.env(fake.url))
    consumer = Runtime.open(settings, queue=True)
    worker = Worker(consumer, threads=1)
    worker.start()
    producer = Runtime.open(settings)
    try:
        receipt = Notifier(producer).send("t", "c")
        wait_until(lambda: delivery_status(producer, receipt.ticket) == "delivered", what="delivery")
        assert producer._huey is None  # the producer never touched Huey
        assert "deliverer" not in vars(producer)  # nor built the delivery machinery
        assert len(fake.requests) == 1
    finally:
        worker.stop(timeout=2)
        producer.close()
        consumer.close()


def test_deliveries_committed_while_no_worker_listened_go_out_when_one_starts(make_settings, fake) -> None:
    settings = make_settings(NTFY.env(fake.url))
    producer = Runtime.open(settings)
    receipts = [Notifier(producer).send(f"t{i}", "c") for i in range(3)]
    assert producer._huey is None  # nobody listened: the rows wait in the ledger, no task exists
    consumer = Runtime.open(settings, queue=True)
    worker = Worker(consumer, threads=2)
    worker.start()
    try:
        for receipt in receipts:
            wait_until(lambda r=receipt: delivery_status(producer, r.ticket) == "delivered", what="catch-up")
        assert len(fake.requests) == 3
    finally:
        worker.stop(timeout=2)
        producer.close()
        consumer.close()


def test_ids_go_to_one_listener_only(tmp_path) -> None:
    got: dict[str, list[int]] = {"a": [], "b": []}
    both = threading.Event()

    def taker(name: str):  # type: ignore[no-untyped-def]
        def take(ids: list[int]) -> None:
            got[name].extend(ids)
            both.set()

        return take

    a = WakeListener(tmp_path, "a", on_ids=taker("a"))
    b = WakeListener(tmp_path, "b", on_ids=taker("b"))
    try:
        assert hand_over(tmp_path, [1, 2, 3])
        wait_until(lambda: len(got["a"]) + len(got["b"]) == 3, what="the hand-over")
        assert sorted(got["a"] + got["b"]) == [1, 2, 3] and [] in got.values()
    finally:
        a.close()
        b.close()
    assert not hand_over(tmp_path, [4])  # nobody listens any more


def test_a_large_batch_is_split_and_arrives_whole(tmp_path) -> None:
    got: list[int] = []
    listener = WakeListener(tmp_path, "w", on_ids=got.extend)
    try:
        ids = list(range(10**9, 10**9 + 20_000))  # ~220 KB of ids: more than one datagram
        assert hand_over(tmp_path, ids)
        wait_until(lambda: len(got) == len(ids), what="every batch")
        assert got == ids
    finally:
        listener.close()


LEAN_PROBE = """
import json, sys
from tests.conftest import settings_for
import mcp_push.tasks.runtime as runtime
runtime.LEAN_QUEUE_IMPORT = True
settings = settings_for(__import__("pathlib").Path(sys.argv[1]), json.loads(sys.argv[2]))
rt = runtime.Runtime.open(settings, queue=True)
rt.huey.pending_count()
loaded = [name for name in ("redis", "psycopg") if name in sys.modules]
import redis, psycopg  # still importable by anything else
print(json.dumps(loaded))
rt.close()
"""


def lean_probe(home: Path, env: dict[str, str]) -> list[str]:
    """The queue drivers a consuming command with ``env`` has loaded once its queue answered."""
    done = subprocess.run(
        [sys.executable, "-c", LEAN_PROBE, str(home), json.dumps(env)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_consuming_command_on_the_sqlite_queue_imports_no_queue_drivers(tmp_path) -> None:
    """Huey imports redis and psycopg whenever installed: ~40 MB that a SQLite-queue worker never uses."""
    assert lean_probe(tmp_path / "home", {}) == []


def test_a_consuming_command_imports_only_the_driver_of_its_queue(tmp_path) -> None:
    """A Redis queue beside the SQLite ledger needs no psycopg (~10 MB); a PostgreSQL one no redis."""
    with redis_db() as url:
        assert lean_probe(tmp_path / "redis", {"MCP_PUSH_QUEUE_URL": url}) == ["redis"]
    with postgres_schema() as url:
        assert lean_probe(tmp_path / "pg", {"MCP_PUSH_DB_URL": url, "MCP_PUSH_QUEUE_URL": url}) == ["psycopg"]
