"""Start `mcp-push serve` as a real subprocess and talk to it with the official MCP client."""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_push.storage import SqliteLedger
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy


def server_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    empty = home / "empty-config.sh"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # private, as mcp-push makes it (a more open home gets a warning on stderr)
    empty.touch()
    return {
        "PATH": os.environ.get("PATH", ""),
        "MCP_PUSH_HOME": str(home),
        "MCP_PUSH_CONFIG": str(empty),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        **extra,
    }


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def mcp_client(home: Path, fake: FakeNtfy, tmp_path: Path):
    """An async context manager factory: a connected Client to a fresh `mcp-push serve`."""

    @asynccontextmanager
    async def connect(extra: dict[str, str] | None = None, args: tuple[str, ...] = ()):
        env = server_env(home, {**NTFY.env(fake.url), **(extra or {})})
        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_push", "serve", *args], env=env)
        async with Client(params) as client:
            yield client

    return connect


@pytest.fixture
def ledger_of(home: Path):
    def open_() -> SqliteLedger:
        return SqliteLedger(home / "ledger.sqlite3")

    return open_
