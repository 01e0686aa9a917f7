"""Small helpers shared by tests: polling with a deadline instead of sleeping, ending stray processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mcp_push.models import StatusDocument
from tests.conftest import _processes_under

T = TypeVar("T")

# The tools mcp-push serves: what every listing (stdio, HTTP, the wheel, the bundle) must show.
TOOLS = {
    "notify_send",
    "notify_event",
    "notify_status",
    "notify_channels",
    "notify_ask",
    "notify_wait",
    "notify_cancel",
}


def wait_until(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = probe()
    return last


HOOK_STOP_PAYLOAD = Path(__file__).parent / "hook_payloads" / "claude_stop.json"


def fresh_python(code: str) -> str:
    """What ``code`` prints in a new interpreter (for what an import loads: this process has loaded everything)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def run_probe(probe: str, args: tuple[str, ...], env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Run ``probe`` (a ``python -c`` script that runs the CLI on its argv and prints a JSON line last)
    with ``args``; ``hook`` gets a Claude Code Stop payload on stdin. Returns that line and stderr."""
    stdin = HOOK_STOP_PAYLOAD.read_text() if args[:1] == ("hook",) else None
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def hold_provider(fake: Any) -> threading.Event:
    """Make a fake provider hold every request until the returned event is set: a test can then
    show that a call returned before the provider answered, without measuring time."""
    release, check = threading.Event(), fake.check

    def held(request: Any) -> None:
        release.wait(60)
        check(request)

    fake.check = held
    return release


def delivery_status(runtime, ticket: str) -> str:  # type: ignore[no-untyped-def]
    """The status of a single-channel ticket's delivery."""
    record = runtime.ledger.get_ticket(ticket)
    assert record is not None, ticket
    return record.deliveries[0].status


async def poll_status(client: Any, deadline: float, **ref: str) -> StatusDocument:
    """notify_status until the ticket/run is settled (or the deadline passes)."""
    end = time.monotonic() + deadline
    while True:
        result = await client.call_tool("notify_status", ref)
        assert not result.is_error, result.content
        doc = StatusDocument.model_validate(result.structured_content)
        if doc.final or time.monotonic() > end:
            return doc
        await asyncio.sleep(0.1)


def end_processes_under(root: Path) -> None:
    """Kill the drain workers of homes under ``root``: one stays while an ask waits (up to its
    timeout), so a test's own are ended with it, before they poll a port a later test's fake gets."""
    for pid in _processes_under(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
