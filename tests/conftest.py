"""Shared fixtures: isolated settings, a ledger, a fake clock, service checks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_push.config import Settings, load_settings


def settings_for(home: Path, env: dict[str, str] | None = None) -> Settings:
    """Settings that see only ``env`` (never the developer's own config.sh or channels)."""
    empty = home / "empty-config.sh"
    home.mkdir(parents=True, exist_ok=True)
    empty.touch()
    base = {"MCP_PUSH_HOME": str(home), "MCP_PUSH_CONFIG": str(empty), "PATH": os.environ.get("PATH", "")}
    return load_settings({**base, **(env or {})})


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(env: dict[str, str] | None = None, home: Path | None = None) -> Settings:
        return settings_for(home or tmp_path / "home", env)

    return make


class FakeClock:
    """A clock whose sleep() advances time instantly: retries and rate waits without waiting."""

    def __init__(self, start: float):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
