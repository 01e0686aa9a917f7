"""Sustained deliveries per second to a local fake provider: mcp-push vs a bare Huey + httpx loop.

Both run in this process with the same number of consumer threads, drain the same number
of tasks, and post to the same fake provider (bench/_fastfake.py, its own process). The bare loop has
no ledger, no claim, no record: the ratio is what durability and truthfulness cost. It uses Huey as
it comes; mcp-push's Huey skips the revocation flags it never sets (tasks/hueys.py: two queue
round trips per task on Redis and PostgreSQL), which pays for part of the ledger's two writes.

What the clock covers is the same work on both sides. On a queue server (Redis, PostgreSQL) mcp-push's
producers enqueue their own tasks, so neither side's enqueueing is timed. On the SQLite queue producers
only commit rows and the worker enqueues them as it starts, so the bare loop's enqueueing is timed too.
On PostgreSQL each run gets a fresh schema (the shared one keeps dead rows of earlier runs). The two
sides alternate for ``--rounds`` rounds, so a machine that is busier at one moment weighs on both;
the ratio given is the median of the rounds' ratios. Beside each rate, this process's CPU time per
delivery (the database server's own work is not in it): on a busy machine that figure moves less
than the rate. A last phase runs `mcp-push worker` as its own process and reports its peak RSS.

    python bench/throughput.py [--n 3000] [--threads 4] [--rounds 3] [--backend sqlite|redis|postgres]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from _common import BACKENDS, ROOT, base_env, peak_rss_mb, start_worker
from huey import PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from mcp_push.config import load_settings
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.fakes.ntfy import CASE as NTFY


def start_fake() -> tuple[subprocess.Popen[str], str]:
    """The provider stand-in, in its own process: fast enough not to be what we measure."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_fastfake.py")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def wait_for(predicate, timeout: float = 900, every: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    # Not every 10 ms: mcp-push's predicate counts rows in the database being measured, and on
    # PostgreSQL a count every 10 ms cost half the throughput it was measuring.
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not finish in time")
        time.sleep(every)


def fresh_schema(backend: str) -> tuple[dict[str, str], str | None]:
    """The backend's settings; on PostgreSQL pointing at a new, empty schema (dropped by ``drop_schema``)."""
    settings = dict(BACKENDS[backend])
    if backend != "postgres":
        return settings, None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(settings["MCP_PUSH_DB_URL"], autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    scoped = {key: f"{url}?options=-csearch_path%3D{schema}" for key, url in settings.items()}
    return scoped, schema


def drop_schema(schema: str | None) -> None:
    if schema is None:
        return
    import psycopg

    with psycopg.connect(BACKENDS["postgres"]["MCP_PUSH_DB_URL"], autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def bare(backend: str, env: dict[str, str], url: str, n: int, threads: int) -> tuple[float, float]:
    name = f"bare-{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        huey = SqliteHuey(name, filename=str(Path(env["MCP_PUSH_HOME"]) / "bare.db"), results=False)
    elif backend == "redis":
        huey = RedisHuey(name, url=env["MCP_PUSH_QUEUE_URL"], results=False)
    else:
        huey = PostgresHuey(name, dsn=env["MCP_PUSH_QUEUE_URL"], results=False)
    client = httpx.Client(timeout=10)
    done = 0
    lock = threading.Lock()
    target = f"{url}/{env['NTFY_TOPIC']}"
    headers = {"Authorization": f"Bearer {env['NTFY_TOKEN']}", "Title": "bare"}

    @huey.task(name="bare_post")
    def post(i: int) -> None:
        nonlocal done
        response = client.post(target, content=f"bare #{i}".encode(), headers=headers)
        response.raise_for_status()
        with lock:
            done += 1

    timed_enqueue = backend == "sqlite"  # see the module docstring
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        post(i)
    if not timed_enqueue:
        started, cpu = time.perf_counter(), time.process_time()
    consumer = Consumer(
        huey,
        workers=threads,
        worker_type="thread",
        periodic=False,
        check_worker_health=False,
        initial_delay=0.05,
        max_delay=0.25,
    )
    consumer._set_signal_handlers = lambda: None  # type: ignore[method-assign]
    consumer.start()
    wait_for(lambda: done >= n)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    consumer.stop(graceful=True)
    client.close()
    if backend == "postgres":
        huey.storage.flush_queue()
    return n / elapsed, cpu / n * 1000


def ours(env: dict[str, str], n: int, threads: int) -> tuple[float, float]:
    runtime = Runtime.open(load_settings(env))
    notifier = Notifier(runtime)
    for i in range(n):
        notifier.send(f"tp {i}", f"tp #{i}", run_id=f"tp-{i % 100}")
    worker = Worker(runtime, threads=threads)
    started, cpu = time.perf_counter(), time.process_time()
    worker.start()
    wait_for(lambda: runtime.ledger.unfinished_count() == 0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    worker.stop()
    runtime.close()
    return n / elapsed, cpu / n * 1000


def worker_rss(env: dict[str, str], n: int, threads: int) -> tuple[float, float]:
    runtime = Runtime.open(load_settings(env))
    notifier = Notifier(runtime)
    for i in range(n):
        notifier.send(f"rss {i}", f"rss #{i}", run_id=f"rss-{i % 100}")
    proc = start_worker(env, threads)
    started = time.perf_counter()
    wait_for(lambda: runtime.ledger.unfinished_count() == 0)
    rate = n / (time.perf_counter() - started)
    rss = peak_rss_mb(proc.pid)
    proc.terminate()
    proc.wait(timeout=30)
    runtime.close()
    return rss, rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--backend", choices=list(BACKENDS), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fake, url = start_fake()
    print(
        f"throughput, backend {args.backend}, {args.n} deliveries, {args.threads} threads, "
        f"{args.rounds} alternating rounds, fake in its own process"
    )
    ratios, schemas = [], []

    def backend_env() -> dict[str, str]:
        backend, schema = fresh_schema(args.backend)
        schemas.append(schema)
        return base_env({**backend, **NTFY.env(url)})

    try:
        for round_no in range(1, args.rounds + 1):
            bare_rate, bare_cpu = bare(args.backend, backend_env(), url, args.n, args.threads)
            our_rate, our_cpu = ours(backend_env(), args.n, args.threads)
            ratios.append(our_rate / bare_rate)
            print(
                f"  round {round_no}: bare Huey + httpx {bare_rate:7.1f}/s ({bare_cpu:.2f} ms CPU each)   "
                f"mcp-push {our_rate:7.1f}/s ({our_cpu:.2f} ms CPU each)   ours / bare = {ratios[-1]:.2f}"
            )
        print(f"  median ours / bare = {statistics.median(ratios):.2f}")
        rss, rate = worker_rss(backend_env(), args.n, args.threads)
        print(f"  mcp-push worker process: {rate:.1f} deliveries/s, peak RSS {rss:.1f} MB")
    finally:
        fake.terminate()
        for schema in schemas:  # at the end: a stopped consumer's last poll must not meet a dropped table
            drop_schema(schema)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
