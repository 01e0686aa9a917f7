"""Wall time of one `mcp-push send TITLE CONTENT`, as a script or an agent hook runs it, beside the floor.

Each run is a fresh process against a local fake ntfy with a live `mcp-push worker`: the
command validates, writes the ledger, hands the delivery to the worker and exits. The
floor, in the same run and venv, is `python -c 'import sqlite3, json'`.

    python bench/send.py [--n 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from _common import FLOOR, base_env, line, live_worker, wall_ms, wind_down

from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy

SEND = [sys.executable, "-m", "mcp_push", "send"]
TARGET = 5.0  # × the floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args()
    fake = FakeNtfy().start()
    env = base_env(NTFY.env(fake.url))
    worker = live_worker(env)
    wall_ms([*SEND, "warm-up", "warm-up"], env)
    floor_ms, send_ms = [], []
    for i in range(args.n):  # interleaved, so a busy moment slows both alike
        floor_ms.append(wall_ms(FLOOR, env))
        send_ms.append(wall_ms([*SEND, f"bench {i}", f"send #{i}"], env))
    floor = statistics.median(floor_ms)
    print(f"mcp-push send TITLE CONTENT, a worker alive, {sys.executable}")
    print(line("python -c 'import sqlite3, json'", floor_ms))
    print(line("mcp-push send", send_ms, floor) + f"   (target <= {TARGET:g}x)")
    wind_down(fake, worker, args.n + 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
