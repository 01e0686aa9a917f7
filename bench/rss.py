"""Peak resident memory of `mcp-push serve` after 200 tool calls and of `mcp-push worker` after 200 deliveries.

Beside each, a baseline from the same run: the minimal MCP SDK server (`bench/_minimal_server.py`)
after 200 calls of its one tool, and a bare process that imports what any Huey + httpx consumer
imports. `serve --no-worker` splits serve's figure into the server's part and its embedded
worker's. Peak RSS is the kernel's VmHWM of the process.

    python bench/rss.py [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

from _common import base_env, live_worker, peak_rss_mb
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_push.config import load_settings
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy

MINIMAL = str(Path(__file__).with_name("_minimal_server.py"))
BARE_CONSUMER = "import sys, sqlite3, huey.consumer, httpx; print('ready', flush=True); sys.stdin.read()"
SERVE_TARGET, WORKER_TARGET = 70.0, 60.0  # MB


def children() -> list[int]:
    """Live child processes of this one (the MCP client spawns its server directly)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append(int(entry))
    return found


async def after_calls(args: list[str], env: dict[str, str], tool: str, arguments: dict, calls: int) -> float:
    before = set(children())
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with Client(params) as client:
        for i in range(calls):
            result = await client.call_tool(tool, {key: f"{value} {i}" for key, value in arguments.items()})
            assert not result.is_error, result.content
        (pid,) = set(children()) - before
        return peak_rss_mb(pid)


def worker_rss(env: dict[str, str], fake: FakeNtfy, calls: int) -> float:
    worker = live_worker(env, threads=4)
    runtime = Runtime.open(load_settings(env))
    try:
        notifier = Notifier(runtime)
        for i in range(calls):
            notifier.send(f"rss {i}", f"rss #{i}")
        fake.wait_for(calls, timeout=120)
        return peak_rss_mb(worker.pid)
    finally:
        runtime.close()
        worker.terminate()
        worker.wait(timeout=30)


def bare_consumer_rss(env: dict[str, str]) -> float:
    """A process that imported what a Huey + httpx consumer needs, measured once it says so."""
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_CONSUMER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        raise SystemExit("the bare consumer did not start")
    rss = peak_rss_mb(proc.pid)
    proc.stdin.close()
    proc.wait(timeout=30)
    return rss


def row(label: str, mb: float, baseline: float | None = None, target: float | None = None) -> str:
    tail = f"   ({mb - baseline:+.1f} MB beside the baseline; target <= {target:g} MB)" if baseline is not None else ""
    return f"  {label:<42} {mb:6.1f} MB{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    fake = FakeNtfy().start()
    serve_env = base_env(NTFY.env(fake.url))
    serve = asyncio.run(
        after_calls(["-m", "mcp_push", "serve"], serve_env, "notify_send", {"title": "rss", "content": "c"}, args.calls)
    )
    alone = asyncio.run(
        after_calls(
            ["-m", "mcp_push", "serve", "--no-worker"],
            base_env(NTFY.env(fake.url)),
            "notify_send",
            {"title": "rss", "content": "c"},
            args.calls,
        )
    )
    minimal = asyncio.run(after_calls([MINIMAL], base_env(), "echo", {"text": "hello"}, args.calls))
    fake.requests.clear()
    worker = worker_rss(base_env(NTFY.env(fake.url)), fake, args.calls)
    bare = bare_consumer_rss(base_env())
    print(f"peak RSS (VmHWM), {args.calls} calls / deliveries, {sys.executable}")
    print(row("minimal MCPServer, one tool", minimal))
    print(row("mcp-push serve", serve, minimal, SERVE_TARGET))
    print(row("mcp-push serve --no-worker", alone) + f"   (the embedded worker: {serve - alone:+.1f} MB)")
    print(row("python importing huey.consumer, httpx", bare))
    print(row("mcp-push worker", worker, bare, WORKER_TARGET))
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
