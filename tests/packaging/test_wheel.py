"""The wheel installs and runs on its own: pip in a fresh venv, pipx, uv tool install, uvx over MCP stdio."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_push import __version__
from tests.helpers import TOOLS
from tests.packaging.conftest import clean_env, run, tool

pytestmark = pytest.mark.slow


def test_the_wheel_holds_the_package_and_its_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(metadata).decode())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "mcp_push/setup/codex.py" in names and "mcp_push/metrics.py" in names
    assert not any(n.startswith("tests/") for n in names)
    assert meta["Version"] == __version__
    requires = " ".join(meta.get_all("Requires-Dist") or [])
    for dependency in ("mcp", "huey", "httpx", "tomlkit", "prometheus_client"):
        assert dependency in requires
    assert "mcp-push = mcp_push.cli:main" in entry_points
    assert "mcp-name: io.github.d4renk/mcp-push" in (meta.get_payload() or "")  # the README, as PyPI shows it


def test_pip_installs_it_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)], timeout=600)
    env = clean_env(tmp_path)
    exe = venv / "bin" / "mcp-push"
    assert run([str(exe), "--version"], env=env).stdout.strip() == f"mcp-push {__version__}"
    # setup writes the path of the mcp-push that runs it: this venv's, not the source tree's
    diff = run([str(exe), "setup", "codex", "--dry-run"], env=env).stdout
    assert f'notify = ["{exe}", "hook"]' in diff
    channels = run([str(exe), "channels", "--json"], env={**env, "NTFY_TOPIC": "wheel-test-topic"}).stdout
    assert any(c["id"] == "ntfy" for c in json.loads(channels)["channels"])


def test_pipx_installs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"))
    env["PIPX_DEFAULT_PYTHON"] = sys.executable
    run([tool("pipx"), "install", str(wheel)], env=env, timeout=600)
    exe = tmp_path / "bin" / "mcp-push"
    assert run([str(exe), "--version"], env=env).stdout.strip() == f"mcp-push {__version__}"
    assert f'"{exe}"' in run([str(exe), "setup", "gemini", "--dry-run"], env=env).stdout


def test_uv_tool_installs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path, UV_TOOL_DIR=str(tmp_path / "tools"), UV_TOOL_BIN_DIR=str(tmp_path / "bin"))
    run([tool("uv"), "tool", "install", "--python", sys.executable, str(wheel)], env=env, timeout=600)
    exe = tmp_path / "bin" / "mcp-push"
    assert run([str(exe), "--version"], env=env).stdout.strip() == f"mcp-push {__version__}"


def test_uvx_from_the_wheel_speaks_mcp_over_stdio(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path, NTFY_TOPIC="uvx-wheel-topic", MCP_PUSH_SHELL_ENV="0")
    params = StdioServerParameters(
        command=tool("uvx"), args=["--python", sys.executable, "--from", str(wheel), "mcp-push"], env=env
    )

    async def scenario() -> tuple[str, set[str]]:
        async with Client(params) as client:
            info = client.server_info.name if client.server_info else ""
            return info, {t.name for t in (await client.list_tools()).tools}

    name, tools = asyncio.run(scenario())
    assert name == "mcp-push"
    assert tools >= TOOLS


def test_setup_from_uvx_refuses_to_write_a_throwaway_path(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    done = subprocess.run(
        [tool("uvx"), "--python", sys.executable, "--from", str(wheel), "mcp-push", "setup", "codex"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "install it first" in done.stderr
    assert not (tmp_path / "home" / ".codex").exists()
