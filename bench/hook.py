"""Wall time of one `mcp-push hook` call, as Claude Code runs it, beside what Python itself costs.

Each run is a fresh process fed a Claude Code Stop payload on stdin (a new session id each
time, so none is coalesced as a duplicate), against a local fake ntfy, with a live
`mcp-push worker`: the hook writes the ledger, hands the delivery to the worker and exits.
The floor, measured in the same run and the same venv, is `python -c 'import sqlite3, json'`:
starting the interpreter and the two modules every hook needs. Beside them, the hook's own
work (`run_hook` called in this process) and, for comparison, a hook that finds no worker
and starts a drainer. Claude Code gives `SessionEnd` hooks about 1.5 s; the other hooks 60 s.

    python bench/hook.py [--n 20]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time

from _common import FLOOR, ROOT, base_env, line, live_worker, wall_ms, wind_down

from mcp_push.config import load_settings
from mcp_push.hooks import run_hook
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy

PAYLOAD = ROOT / "tests" / "hook_payloads" / "claude_stop.json"
HOOK = [sys.executable, "-m", "mcp_push", "hook"]
TARGET = 4.0  # × the floor, with a live worker


def in_process_ms(env: dict[str, str], body: dict[str, object], n: int) -> list[float]:
    """run_hook without the process around it: parsing, policy, the ledger write, the hand-over."""
    settings = load_settings(env)
    times = []
    for i in range(n):
        stdin = io.StringIO(json.dumps({**body, "session_id": f"in-process-{i}"}))
        started = time.perf_counter()
        code = run_hook(settings, None, stdin)
        times.append((time.perf_counter() - started) * 1000)
        if code != 0:
            raise SystemExit(f"run_hook returned {code}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args()
    fake = FakeNtfy().start()
    body = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    env = base_env(NTFY.env(fake.url))
    worker = live_worker(env)
    alone = base_env(NTFY.env(fake.url))  # a home without a worker: each hook starts a drainer
    for home in (env, alone):
        wall_ms(HOOK, home, json.dumps({**body, "session_id": "warm-up"}))  # the first run creates the ledger
    floor_ms, hook_ms, alone_ms = [], [], []
    for i in range(args.n):  # interleaved, so a busy moment slows all alike
        floor_ms.append(wall_ms(FLOOR, env))
        hook_ms.append(wall_ms(HOOK, env, json.dumps({**body, "session_id": f"bench-{i}"})))
        alone_ms.append(wall_ms(HOOK, alone, json.dumps({**body, "session_id": f"alone-{i}"})))
    own_ms = in_process_ms(env, body, args.n)
    floor = statistics.median(floor_ms)
    print(f"mcp-push hook with a Claude Code Stop payload, {sys.executable}")
    print(line("python -c 'import sqlite3, json'", floor_ms))
    print(line("mcp-push hook, a worker alive", hook_ms, floor) + f"   (target <= {TARGET:g}x)")
    print(line("mcp-push hook, no worker (drainer)", alone_ms, floor))
    print(line("run_hook in process", own_ms))
    print(f"  above the floor: {statistics.median(hook_ms) - floor:.1f} ms (imports and the hook's own work)")
    wind_down(fake, worker, 3 * args.n + 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
