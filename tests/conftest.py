"""Shared fixtures: isolated settings, a ledger, a fake clock, service checks."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mcp_push.config import Settings, load_settings
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import FakeTelegram


def settings_for(home: Path, env: dict[str, str] | None = None) -> Settings:
    """Settings that see only ``env`` (never the developer's own config.sh or channels)."""
    empty = home / "empty-config.sh"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # private, as mcp-push makes it (a more open home gets a warning on stderr)
    empty.touch()
    base = {"MCP_PUSH_HOME": str(home), "MCP_PUSH_CONFIG": str(empty), "PATH": os.environ.get("PATH", "")}
    return load_settings({**base, **(env or {})})


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(env: dict[str, str] | None = None, home: Path | None = None) -> Settings:
        return settings_for(home or tmp_path / "home", env)

    return make


@pytest.fixture
def fake() -> Iterator[FakeNtfy]:
    """An ntfy fake provider (the channel most end-to-end tests deliver to)."""
    provider = FakeNtfy().start()
    yield provider
    provider.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A Telegram fake provider (two-way: getUpdates, buttons, edits)."""
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    """An ntfy fake of its own, beside ``fake`` (for tests that use two channels or the reply topic)."""
    provider = FakeNtfy().start()
    yield provider
    provider.stop()


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


def _processes_under(root: Path) -> list[int]:
    """mcp-push processes (drain workers started by tests) whose MCP_PUSH_HOME lies under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"mcp_push" not in cmdline:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"MCP_PUSH_HOME=") and item[len(b"MCP_PUSH_HOME=") :].decode().startswith(str(root)):
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_stray_processes(tmp_path_factory: pytest.TempPathFactory):
    """Drain workers outlive the test that started them by design; end them with the session."""
    yield
    for pid in _processes_under(tmp_path_factory.getbasetemp()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
