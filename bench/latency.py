"""notify_send / notify_event latency through the official MCP client over stdio.

Every provider is slowed to 2 s, and the server's embedded worker is busy delivering while
we measure. Beside it, in the same run, the synchronous send the original mcp-push did:
post to the same providers inside the call.

    python bench/latency.py [--n 1000] [--backend sqlite|redis|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx
from _common import BACKENDS, base_env, peak_rss_mb, summary
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.fakes.gotify import CASE as GOTIFY
from tests.fakes.gotify import FakeGotify
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy


async def through_mcp(env: dict[str, str], n: int) -> tuple[list[float], list[float], float]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_push", "serve"], env=env)
    send_ms, event_ms = [], []
    async with Client(params) as client:
        await client.call_tool("notify_channels")  # warm-up
        for i in range(n):
            started = time.perf_counter()
            result = await client.call_tool("notify_send", {"title": f"bench {i}", "content": f"send #{i}"})
            send_ms.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.content
        for i in range(n):
            started = time.perf_counter()
            result = await client.call_tool(
                "notify_event", {"run_id": f"bench-{i % 20}", "event": "end", "message": f"event #{i}"}
            )
            event_ms.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.content
        rss = server_rss()
    return send_ms, event_ms, rss


def server_rss() -> float:
    """Peak RSS of the mcp-push serve process (a child of this one)."""
    import subprocess

    out = subprocess.run(["pgrep", "-f", "mcp_push serve"], capture_output=True, text=True).stdout.split()
    return max((peak_rss_mb(int(pid)) for pid in out), default=float("nan"))


def synchronous(urls: list[tuple[str, dict, dict]], calls: int) -> list[float]:
    """What a synchronous notifier does: post to every provider before returning."""
    times = []
    with httpx.Client(timeout=30) as client:
        for _ in range(calls):
            started = time.perf_counter()
            for url, headers, body in urls:
                client.post(url, headers=headers, json=body)
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--backend", choices=list(BACKENDS), default="sqlite")
    parser.add_argument("--sync-calls", type=int, default=5)
    args = parser.parse_args()
    ntfy, gotify = FakeNtfy().start(), FakeGotify().start()
    ntfy.delay = gotify.delay = 2.0
    env = base_env({**BACKENDS[args.backend], **NTFY.env(ntfy.url), **GOTIFY.env(gotify.url)})
    print(f"MCP stdio, backend {args.backend}, 2 providers each answering in 2 s, {args.n} calls per tool")
    send_ms, event_ms, rss = asyncio.run(through_mcp(env, args.n))
    print(f"  notify_send   {summary(send_ms)}")
    print(f"  notify_event  {summary(event_ms)}")
    print(f"  server peak RSS {rss:.1f} MB")
    targets = [
        (f"{ntfy.url}/{env['NTFY_TOPIC']}", {"Authorization": f"Bearer {env['NTFY_TOKEN']}", "Title": "t"}, {}),
        (f"{gotify.url}/message", {"X-Gotify-Key": env["GOTIFY_TOKEN"]}, {"message": "m", "title": "t"}),
    ]
    sync_ms = synchronous(targets, args.sync_calls)
    print(f"  synchronous send (baseline)  {summary(sync_ms)}")
    ratio = (sorted(sync_ms)[len(sync_ms) // 2]) / (sorted(send_ms)[len(send_ms) // 2])
    print(f"  notify_send p50 is {ratio:,.0f}x faster than a synchronous send")
    ntfy.stop()
    gotify.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
