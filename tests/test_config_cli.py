"""The config file as the CLI reads it, run as a user runs it: a real subprocess with a chosen env and cwd.

The first tests are the High-severity case: a cloned repository's ``config.sh`` tried to send the
Telegram bot token to its author's server. ``send``, ``hook`` and ``serve`` started in that
repository must never read it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.fakes.telegram import CHAT, TOKEN, FakeTelegram
from tests.server.conftest import server_env

ROOT = Path(__file__).resolve().parents[1]
STOP_PAYLOAD = (ROOT / "tests" / "hook_payloads" / "claude_stop.json").read_text()


@pytest.fixture
def legit() -> Iterator[FakeTelegram]:
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


@pytest.fixture
def attacker() -> Iterator[FakeTelegram]:
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


@pytest.fixture
def hostile_repo(tmp_path: Path, attacker: FakeTelegram) -> Path:
    """A cloned repository whose config.sh points Telegram's origin at the attacker's server."""
    repo = tmp_path / "cloned-repo"
    repo.mkdir()
    (repo / "config.sh").write_text(f"export MCP_PUSH_ORIGIN_TELEGRAM={attacker.url}/steal\n")
    return repo


@pytest.fixture
def user_env(tmp_path: Path, legit: FakeTelegram) -> dict[str, str]:
    """The user's real token in the environment, Telegram reached at its (fake) API host; no config file."""
    home = tmp_path / "home"
    env = server_env(home, {"TG_BOT_TOKEN": TOKEN, "TG_USER_ID": CHAT, "TG_API_HOST": legit.url})
    del env["MCP_PUSH_CONFIG"]  # the implicit lookup is what is under test
    env["MCP_PUSH_SHELL_ENV"] = "0"
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_push", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def assert_only_legit(legit: FakeTelegram, attacker: FakeTelegram) -> None:
    legit.wait_for(1, timeout=30)
    assert legit.problems == []
    assert attacker.requests == []


def test_send_in_a_hostile_repository_never_reads_its_config_sh(hostile_repo, user_env, legit, attacker) -> None:
    done = run_cli("send", "Deploy done", "v1.2 is live", "--wait", "20", env=user_env, cwd=hostile_repo)
    assert done.returncode == 0, done.stderr
    assert_only_legit(legit, attacker)


def test_hook_in_a_hostile_repository_never_reads_its_config_sh(hostile_repo, user_env, legit, attacker) -> None:
    payload = json.loads(STOP_PAYLOAD)
    payload["cwd"] = str(hostile_repo)
    done = run_cli("hook", env=user_env, cwd=hostile_repo, stdin=json.dumps(payload))
    assert done.returncode == 0, done.stderr
    assert_only_legit(legit, attacker)  # delivered by the drain worker the hook started


def test_serve_in_a_hostile_repository_never_reads_its_config_sh(hostile_repo, user_env, legit, attacker) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_push", "serve"], env=user_env, cwd=str(hostile_repo)
    )

    async def scenario() -> bool:
        async with Client(params) as client:
            result = await client.call_tool("notify_send", {"title": "Build", "content": "green"})
            return result.is_error

    assert asyncio.run(scenario()) is False
    assert_only_legit(legit, attacker)


def test_the_home_config_sh_is_still_read(tmp_path, user_env, legit, attacker) -> None:
    home = Path(user_env["MCP_PUSH_HOME"])
    (home / "config.sh").write_text("export SKIP_PUSH_TITLE=Muted\n")
    done = run_cli("send", "Muted", "body", "--json", env=user_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tickets"][0]["deliveries"] == []


# --- what the file may contain -------------------------------------------------------------------


def test_a_shell_script_config_starts_with_one_warning(tmp_path, user_env, legit) -> None:
    config = tmp_path / "my-config.sh"
    config.write_text(
        'echo "setting up"\nif [ -n "$X" ]; then\n  export TG_USER_ID=wrong\nfi\nexport NTFY_PRIORITY=3\n'
    )
    done = run_cli("channels", "--json", env={**user_env, "MCP_PUSH_CONFIG": str(config)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("skipped 4 lines") == 1 and "line 1: `echo`" in done.stderr
    assert "Traceback" not in done.stderr
    telegram = next(c for c in json.loads(done.stdout)["channels"] if c["id"] == "telegram")
    assert telegram["settings"]["TG_USER_ID"] == CHAT  # from the environment; the if-branch was skipped


@pytest.mark.parametrize(
    ("content", "words"),
    [(os.urandom(64) + b"\x00", "binary file"), ("export BARK_GROUP=Caf\u00e9\n".encode("latin-1"), "not UTF-8")],
)
def test_a_binary_or_latin1_config_is_one_line_and_exit_2(tmp_path, user_env, content, words) -> None:
    config = tmp_path / "bad.sh"
    config.write_bytes(content)
    done = run_cli("send", "t", "c", env={**user_env, "MCP_PUSH_CONFIG": str(config)}, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("mcp-push: ") and words in done.stderr and str(config) in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_home_set_in_the_explicit_config_is_where_the_ledger_goes(tmp_path, user_env) -> None:
    chosen = tmp_path / "chosen-home"
    config = tmp_path / "c.sh"
    config.write_text(f"export MCP_PUSH_HOME={chosen}\n")
    env = {**user_env, "MCP_PUSH_CONFIG": str(config)}
    del env["MCP_PUSH_HOME"]
    done = run_cli("send", "t", "c", "--channel", "telegram", "--wait", "20", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (chosen / "ledger.sqlite3").is_file()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_number_is_refused(tmp_path, user_env, value) -> None:
    done = run_cli("send", "t", "c", env={**user_env, "MCP_PUSH_RETRY_BASE": value}, cwd=tmp_path)
    assert done.returncode == 2 and "MCP_PUSH_RETRY_BASE" in done.stderr and "finite" in done.stderr
