"""From spawning `mcp-push serve` to its answer to `initialize`, beside a minimal MCP SDK server.

Each run spawns the server as an MCP client does (stdio pipes), writes the `initialize`
request and waits for the answer; then closes stdin and waits for the exit. The baseline,
spawned the same way in the same run, is `bench/_minimal_server.py`: an MCPServer with one
trivial tool. The difference is what mcp-push adds before an agent can use it.

    python bench/serve_spawn.py [--n 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import base_env, line

MINIMAL = [sys.executable, str(Path(__file__).with_name("_minimal_server.py"))]
SERVE = [sys.executable, "-m", "mcp_push", "serve"]
TARGET = 1.3  # × the minimal server
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}


def spawn_to_initialize_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    proc.stdin.flush()
    answer = proc.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    proc.stdin.close()
    proc.wait(timeout=30)
    if b'"result"' not in answer:
        raise SystemExit(f"{' '.join(argv)} did not answer initialize: {answer[:200]!r}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="spawns of each server (default 20)")
    args = parser.parse_args()
    env = base_env()
    for argv in (MINIMAL, SERVE):
        spawn_to_initialize_ms(argv, env)  # warm-up: bytecode caches, the ledger's creation
    minimal_ms, serve_ms = [], []
    for _ in range(args.n):  # interleaved, so a busy moment slows both alike
        minimal_ms.append(spawn_to_initialize_ms(MINIMAL, env))
        serve_ms.append(spawn_to_initialize_ms(SERVE, env))
    baseline = statistics.median(minimal_ms)
    print(f"spawn to initialize answered, stdio, {sys.executable}")
    print(line("minimal MCPServer, one tool", minimal_ms))
    ratio = line("mcp-push serve", serve_ms, baseline, versus="the minimal server")
    print(f"{ratio}   (target <= {TARGET:g}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
