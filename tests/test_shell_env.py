"""Variables from the login shell (``serve`` only): bounded, never fatal, under the environment and file.

Each test points ``SHELL`` at a small script that behaves like a login shell: it exports what a
``~/.profile`` would, may print noise, hang or fail, then runs the command it was given.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_push import shell_env
from mcp_push.config import load_settings
from tests.fakes.telegram import CHAT, TOKEN, FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env

PROFILE = f"""export TG_BOT_TOKEN='{TOKEN}'
export TG_USER_ID='{CHAT}'
export WEBHOOK_BODY='first line
second line'
export MCP_PUSH_EVENTS=end
export UNRELATED_SECRET=never-imported
"""


def fake_shell(tmp_path: Path, body: str, name: str = "fakesh") -> Path:
    """An executable that acts as ``$SHELL -lc CMD``: ``body`` first (a profile), then CMD."""
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'#!/bin/sh\n{body}\n[ -n "$RAN_MARKER" ] && : > "$RAN_MARKER"\n/bin/sh -c "$2"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def env_with(shell: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "SHELL": str(shell), **extra}


def test_the_wanted_variables_are_read_multiline_values_included(tmp_path) -> None:
    found = shell_env.read_login_env(env_with(fake_shell(tmp_path, PROFILE)))
    assert found == {
        "TG_BOT_TOKEN": TOKEN,
        "TG_USER_ID": CHAT,
        "WEBHOOK_BODY": "first line\nsecond line",
        "MCP_PUSH_EVENTS": "end",
    }


def test_noise_from_rc_files_before_and_after_is_ignored(tmp_path) -> None:
    noisy = PROFILE + 'echo "Welcome! TG_USER_ID=noise"\nprintf "\\000half=entry"\necho "to stderr" >&2\n'
    shell = fake_shell(tmp_path, noisy)
    shell.write_text(shell.read_text() + 'echo "logout: NTFY_TOPIC=noise"\n')
    found = shell_env.read_login_env(env_with(shell))
    assert found["TG_USER_ID"] == CHAT and "NTFY_TOPIC" not in found and "half" not in found


def test_a_hanging_shell_is_bounded_and_its_process_group_killed(tmp_path, caplog) -> None:
    pid_file = tmp_path / "child.pid"
    shell = fake_shell(tmp_path, f'sleep 600 &\necho $! > "{pid_file}"\nwait')
    with caplog.at_level(logging.WARNING):
        found = shell_env.read_login_env(env_with(shell), timeout=0.5)
    assert found == {}
    assert "no answer within 0.5s" in caplog.text and "MCP_PUSH_SHELL_ENV=0" in caplog.text
    child = int(pid_file.read_text())
    wait_until(lambda: not _alive(child), timeout=10, what="the hanging shell's child to be gone")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_shell_that_fails_gives_one_warning_and_nothing(tmp_path, caplog) -> None:
    shell = fake_shell(tmp_path, "echo broken profile\nexit 3")
    with caplog.at_level(logging.DEBUG, logger="mcp_push.shell_env"):
        found = shell_env.read_login_env(env_with(shell))
    assert found == {}
    assert [r.levelno for r in caplog.records] == [logging.WARNING] and "exit status 3" in caplog.text


def test_a_missing_shell_falls_back_and_never_raises(tmp_path) -> None:
    found = shell_env.read_login_env({"PATH": os.environ.get("PATH", ""), "SHELL": str(tmp_path / "no-such-shell")})
    assert isinstance(found, dict)


def test_zsh_is_asked_as_an_interactive_login_shell() -> None:
    assert shell_env.shell_command("/bin/zsh")[1] == "-lic"
    assert shell_env.shell_command("/bin/bash")[1] == "-lc"
    assert shell_env.shell_command("/bin/tcsh")[1] == "-c"


def test_environment_and_config_file_win_over_the_login_shell(tmp_path) -> None:
    config = tmp_path / "c.sh"
    config.write_text("export TG_USER_ID=from-file\n")
    shell = fake_shell(tmp_path, PROFILE + "export NTFY_TOPIC=from-shell\n")
    environ = env_with(shell, MCP_PUSH_HOME=str(tmp_path / "home"), MCP_PUSH_CONFIG=str(config), NTFY_TOPIC="env")
    settings = shell_env.with_login_shell_env(load_settings(environ), environ)
    assert settings.env["TG_USER_ID"] == "from-file" and settings.env["NTFY_TOPIC"] == "env"
    assert settings.env["TG_BOT_TOKEN"] == TOKEN and settings.pushed_events == {"end"}
    assert "UNRELATED_SECRET" not in settings.env


def test_what_the_shell_supplied_reaches_os_environ_for_a_later_drain_worker(tmp_path, monkeypatch) -> None:
    config = tmp_path / "c.sh"
    config.write_text("export TG_USER_ID=from-file\n")
    shell = fake_shell(tmp_path, PROFILE)
    for key, value in env_with(shell, MCP_PUSH_HOME=str(tmp_path / "home"), MCP_PUSH_CONFIG=str(config)).items():
        monkeypatch.setenv(key, value)
    for key in ("TG_BOT_TOKEN", "TG_USER_ID", "WEBHOOK_BODY", "MCP_PUSH_EVENTS", "UNRELATED_SECRET"):
        monkeypatch.setenv(key, "placeholder")
        monkeypatch.delenv(key)  # restored to absent afterwards
    settings = shell_env.with_login_shell_env(load_settings())
    assert settings.env["TG_BOT_TOKEN"] == TOKEN and os.environ["TG_BOT_TOKEN"] == TOKEN
    assert "TG_USER_ID" not in os.environ  # the file sets it: a drain worker reads it there
    assert "UNRELATED_SECRET" not in os.environ


@pytest.mark.parametrize("off", ["0", "false", "no"])
def test_off_switch_runs_no_shell(tmp_path, off) -> None:
    marker = tmp_path / "ran"
    environ = env_with(
        fake_shell(tmp_path, PROFILE), MCP_PUSH_HOME=str(tmp_path / "h"), MCP_PUSH_SHELL_ENV=off, RAN_MARKER=str(marker)
    )
    settings = load_settings(environ)
    assert shell_env.with_login_shell_env(settings, environ) is settings
    assert not marker.exists()


def test_a_bad_value_from_the_shell_is_ignored_not_fatal(tmp_path, caplog) -> None:
    shell = fake_shell(tmp_path, "export MCP_PUSH_WORKERS=lots\nexport TG_BOT_TOKEN=x\n")
    environ = env_with(shell, MCP_PUSH_HOME=str(tmp_path / "home"))
    settings = load_settings(environ)
    with caplog.at_level(logging.WARNING):
        assert shell_env.with_login_shell_env(settings, environ) is settings
    assert "MCP_PUSH_WORKERS" in caplog.text


# --- through `mcp-push serve` and the official MCP client -------------------------------------------


@pytest.fixture
def telegram():
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


def serve_with_shell(tmp_path: Path, shell: Path, **extra: str) -> StdioServerParameters:
    env = server_env(tmp_path / "home", {"SHELL": str(shell), **extra})
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_push", "serve"], env=env)


async def _send(params: StdioServerParameters) -> tuple[bool, str]:
    async with Client(params) as client:
        result = await client.call_tool("notify_send", {"title": "Build", "content": "green"})
        text = " ".join(getattr(c, "text", "") for c in result.content)
        return result.is_error, text


def test_serve_finds_a_token_exported_only_in_the_login_profile(tmp_path, telegram) -> None:
    """A noisy profile too: nothing it prints may reach the MCP client on stdout."""
    profile = PROFILE + f"export TG_API_HOST={telegram.url}\necho 'Last login: today'\n"
    is_error, text = asyncio.run(_send(serve_with_shell(tmp_path, fake_shell(tmp_path, profile))))
    assert not is_error, text
    telegram.wait_for(1, timeout=30)
    assert telegram.problems == []


def test_serve_with_the_switch_off_does_not_import(tmp_path, telegram) -> None:
    marker = tmp_path / "ran"
    profile = PROFILE + f"export TG_API_HOST={telegram.url}\n"
    params = serve_with_shell(tmp_path, fake_shell(tmp_path, profile), MCP_PUSH_SHELL_ENV="0", RAN_MARKER=str(marker))
    is_error, text = asyncio.run(_send(params))
    assert is_error and "no channel is configured" in text
    assert not marker.exists() and telegram.requests == []


def test_serve_with_a_hanging_login_shell_still_starts(tmp_path, telegram) -> None:
    profile = PROFILE + f"export TG_API_HOST={telegram.url}\nsleep 600\n"
    is_error, text = asyncio.run(_send(serve_with_shell(tmp_path, fake_shell(tmp_path, profile))))
    assert is_error and "no channel is configured" in text  # nothing imported, and no hang
