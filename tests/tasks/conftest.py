"""Fixtures for pipeline tests: an ntfy fake and runtimes (with an in-process worker) cleaned up after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker

OpenPipeline = Callable[..., tuple[Runtime, Notifier]]


@pytest.fixture
def open_pipeline(make_settings) -> Iterator[OpenPipeline]:
    """open_pipeline(env, worker=True): a Runtime on those settings, a Notifier, and a 2-thread worker."""
    opened: list[tuple[Runtime, Worker | None]] = []

    def go(env: dict[str, str], worker: bool = True) -> tuple[Runtime, Notifier]:
        # Bodies are compared as sent: no source line (its own tests: tests/server/test_rendering.py).
        runtime = Runtime.open(make_settings({"MCP_PUSH_SOURCE": "off", **env}))
        w = Worker(runtime, threads=2) if worker else None
        if w:
            w.start()
        opened.append((runtime, w))
        return runtime, Notifier(runtime)

    yield go
    for runtime, w in opened:
        if w:
            w.stop(timeout=2)
        runtime.close()
