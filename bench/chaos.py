"""Chaos benchmark: N notifications x 3 channels while a worker is SIGKILLed every few seconds.

Prints delivered, lost (must be 0) and duplicates (only deliveries in flight at a kill may
repeat). Run from the repository root:

    python bench/chaos.py [--n 2000] [--kill-every 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp_push.config import load_settings  # noqa: E402
from mcp_push.notifier import Notifier  # noqa: E402
from mcp_push.tasks.runtime import Runtime  # noqa: E402
from tests.fakes.bark import CASE as BARK  # noqa: E402
from tests.fakes.gotify import CASE as GOTIFY  # noqa: E402
from tests.fakes.ntfy import CASE as NTFY  # noqa: E402

KEY = re.compile(r"chaos #(\d+)")


def _key(body: bytes) -> int | None:
    match = KEY.search(body.decode("utf-8", "replace"))
    return int(match.group(1)) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="notifications (each goes to 3 channels)")
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs")
    parser.add_argument("--workers", type=int, default=4, help="delivery threads per worker process")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    fakes = {case.channel: case.fake().start() for case in (NTFY, GOTIFY, BARK)}
    for fake in fakes.values():
        fake.delay = 0.005  # a provider that takes a few ms, like a fast real one
    home = Path(tempfile.mkdtemp(prefix="mcp-push-chaos-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "none.sh").touch()  # an empty config file: the bench must not pick up your channels
    env = {
        "MCP_PUSH_HOME": str(home),
        "MCP_PUSH_CONFIG": str(home / "none.sh"),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "MCP_PUSH_LEASE_SECONDS": "5",
        "MCP_PUSH_SWEEP_SECONDS": "1",
        "MCP_PUSH_DEDUPE_SECONDS": "0",
        "MCP_PUSH_RUN_BUDGET": str(10 * args.n),
    }
    for case in (NTFY, GOTIFY, BARK):
        env.update(case.env(fakes[case.channel].url))
    runtime = Runtime.open(load_settings(env))
    notifier = Notifier(runtime)

    started = time.perf_counter()
    for i in range(args.n):
        notifier.send(f"chaos {i}", f"chaos #{i}", run_id=f"chaos-{i % 50}")
    enqueue_s = time.perf_counter() - started
    print(
        f"queued {args.n} notifications x {len(fakes)} channels in {enqueue_s:.1f}s "
        f"({args.n / enqueue_s:.0f} notify_send/s in-process)"
    )

    kills, in_flight_at_kills = 0, 0
    worker = None
    deadline = time.monotonic() + args.timeout
    t0 = time.perf_counter()
    try:
        while runtime.ledger.unfinished_count() and time.monotonic() < deadline:
            worker = subprocess.Popen(
                [sys.executable, "-m", "mcp_push", "worker", "--workers", str(args.workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            end = time.monotonic() + args.kill_every
            while time.monotonic() < end and runtime.ledger.unfinished_count():
                time.sleep(0.1)
            if runtime.ledger.unfinished_count():
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                in_flight_at_kills += sum(
                    1 for d in runtime.ledger.dump_table("deliveries") if d["status"] == "in_flight"
                )
            else:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
    finally:
        if worker and worker.poll() is None:
            worker.kill()
    elapsed = time.perf_counter() - t0

    expected = set(range(args.n))
    lost = duplicates = delivered = 0
    per_channel = {}
    for cid, fake in fakes.items():
        counts = Counter(k for k in (_key(r.body) for r in fake.requests) if k is not None)
        missing = expected - set(counts)
        dup = sum(c - 1 for c in counts.values())
        per_channel[cid] = {
            "received": sum(counts.values()),
            "lost": len(missing),
            "duplicates": dup,
            "rejected": len(fake.problems),
        }
        lost += len(missing)
        duplicates += dup
        delivered += len(counts)
    statuses = Counter(d["status"] for d in runtime.ledger.dump_table("deliveries"))
    result = {
        "notifications": args.n,
        "deliveries_expected": args.n * len(fakes),
        "delivered": delivered,
        "lost": lost,
        "duplicates": duplicates,
        "kills": kills,
        "in_flight_at_kills": in_flight_at_kills,
        "seconds": round(elapsed, 1),
        "deliveries_per_s": round(args.n * len(fakes) / elapsed, 1),
        "ledger": dict(statuses),
        "per_channel": per_channel,
    }
    print(json.dumps(result, indent=2))
    print(
        f"delivered {delivered}/{args.n * len(fakes)}, lost {lost}, duplicates {duplicates} "
        f"(at most {in_flight_at_kills} were in flight at the {kills} kills), {elapsed:.1f}s"
    )
    runtime.close()
    for fake in fakes.values():
        fake.stop()
    return 0 if lost == 0 and duplicates <= in_flight_at_kills else 1


if __name__ == "__main__":
    raise SystemExit(main())
