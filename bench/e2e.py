"""Enqueue-to-provider latency at idle: from notify_send returning to the provider receiving it.

A worker runs as its own process; the producer sends one notification at a time, with the
worker idle in between. On SQLite the baseline in the same run is a producer that does
not nudge idle workers (plain polling).

    python bench/e2e.py [--n 200] [--backend sqlite|redis|postgres]
"""

from __future__ import annotations

import argparse
import random
import time

from _common import BACKENDS, base_env, start_worker, summary

from mcp_push.config import load_settings
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy


def measure(backend: str, n: int, nudge: bool) -> list[float]:
    fake = FakeNtfy().start()
    env = base_env({**BACKENDS[backend], **NTFY.env(fake.url)})
    runtime = Runtime.open(load_settings(env))
    if not nudge:
        type(runtime).wakes_workers = property(lambda self: False)  # type: ignore[method-assign]
    notifier = Notifier(runtime)
    worker = start_worker(env)
    try:
        notifier.send("warm-up", "warm-up")
        fake.wait_for(1, timeout=30)
        latencies = []
        for i in range(n):
            time.sleep(random.uniform(0.3, 0.6))  # let the worker go idle
            notifier.send(f"e2e {i}", f"e2e {i}")
            sent = time.monotonic()
            request = fake.wait_for(i + 2, timeout=30)[-1]
            latencies.append((request.at - sent) * 1000)
        return latencies
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if not nudge:
            del type(runtime).wakes_workers  # restore the class property
        runtime.close()
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--backend", choices=list(BACKENDS), default="sqlite")
    args = parser.parse_args()
    print(f"enqueue-to-provider latency at idle, backend {args.backend}, worker in its own process")
    ours = measure(args.backend, args.n, nudge=True)
    print(f"  mcp-push            {summary(ours)}")
    if args.backend == "sqlite":
        polled = measure(args.backend, args.n, nudge=False)
        print(f"  polling only (base) {summary(polled)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
