"""Sustained deliveries per second to a local fake provider: mcp-push vs a bare Huey + httpx loop.

Both run in this process with the same number of consumer threads, drain the same number
of queued tasks, and post to the same fake provider (bench/_fastfake.py, its own process). The bare loop has
no ledger, no claim, no record: the ratio is what durability and truthfulness cost.
A third phase runs `mcp-push worker` as its own process and reports its peak RSS.

    python bench/throughput.py [--n 3000] [--threads 4] [--backend sqlite|redis|postgres]
"""

from __future__ import annotations

import argparse
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


def bare(backend: str, env: dict[str, str], url: str, n: int, threads: int) -> float:
    name = f"bare-{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        huey = SqliteHuey(name, filename=str(Path(env["MCP_PUSH_HOME"]) / "bare.db"), results=False)
    elif backend == "redis":
        huey = RedisHuey(name, url=BACKENDS["redis"]["MCP_PUSH_QUEUE_URL"], results=False)
    else:
        huey = PostgresHuey(name, dsn=BACKENDS["postgres"]["MCP_PUSH_QUEUE_URL"], results=False)
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

    for i in range(n):
        post(i)
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
    started = time.perf_counter()
    consumer.start()
    wait_for(lambda: done >= n)
    elapsed = time.perf_counter() - started
    consumer.stop(graceful=True)
    client.close()
    if backend == "postgres":
        huey.storage.flush_queue()
    return n / elapsed


def ours(env: dict[str, str], n: int, threads: int) -> float:
    runtime = Runtime.open(load_settings(env))
    notifier = Notifier(runtime)
    for i in range(n):
        notifier.send(f"tp {i}", f"tp #{i}", run_id=f"tp-{i % 100}")
    worker = Worker(runtime, threads=threads)
    started = time.perf_counter()
    worker.start()
    wait_for(lambda: runtime.ledger.unfinished_count() == 0)
    elapsed = time.perf_counter() - started
    worker.stop()
    runtime.close()
    return n / elapsed


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
    args = parser.parse_args()
    fake, url = start_fake()
    try:
        env = base_env({**BACKENDS[args.backend], **NTFY.env(url)})
        print(
            f"throughput, backend {args.backend}, {args.n} deliveries, {args.threads} threads, fake in its own process"
        )
        bare_rate = bare(args.backend, env, url, args.n, args.threads)
        print(f"  bare Huey + httpx   {bare_rate:8.1f} deliveries/s")
        our_rate = ours(base_env({**BACKENDS[args.backend], **NTFY.env(url)}), args.n, args.threads)
        print(f"  mcp-push            {our_rate:8.1f} deliveries/s   ours / bare = {our_rate / bare_rate:.2f}")
        rss, rate = worker_rss(base_env({**BACKENDS[args.backend], **NTFY.env(url)}), args.n, args.threads)
        print(f"  mcp-push worker process: {rate:.1f} deliveries/s, peak RSS {rss:.1f} MB")
    finally:
        fake.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
