"""A bad attention rule stops the commands that would apply it, at once, with one line naming the
variable; ``mcp-push channels`` (where a person looks) still runs and says the rule is not in force."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.ntfy import CASE as NTFY
from tests.server.conftest import server_env

NTFY_ENV = NTFY.env("http://127.0.0.1:9")  # never contacted: the command stops before


def run(tmp_path: Path, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(tmp_path / "home", {**NTFY_ENV, **extra})
    return subprocess.run(
        [sys.executable, "-m", "mcp_push", *args], input="", capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(
    ("command", "variable", "value", "says"),
    [
        (("serve",), "MCP_PUSH_ROUTE_ERROR", "telegram", "telegram"),  # not configured here
        (("worker",), "MCP_PUSH_QUIET", "25:00-08:00", "25:00"),
        (("send", "t", "c"), "MCP_PUSH_ASK_ESCALATE", "ntfy; ; ntfy @5", "tier"),
        (("ask", "Deploy?"), "MCP_PUSH_TZ", "Mars/Olympus", "Mars/Olympus"),
        (("send", "t", "c"), "MCP_PUSH_STOP_DELAY", "soon", "soon"),
    ],
)
def test_a_bad_rule_is_one_line_naming_its_variable(
    tmp_path: Path, command: tuple[str, ...], variable: str, value: str, says: str
) -> None:
    done = run(tmp_path, {variable: value, "MCP_PUSH_QUIET": "22:00-08:00"} if variable == "MCP_PUSH_TZ" else
               {variable: value}, *command)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # serve's stdout is the protocol's
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and says in lines[0], done.stderr


def test_channels_still_lists_and_says_the_rule_is_not_in_force(tmp_path: Path) -> None:
    done = run(tmp_path, {"MCP_PUSH_ROUTE_END": "nosuch"}, "channels")
    assert done.returncode == 0, done.stderr
    assert "Rules:" in done.stdout and "not in force" in done.stdout and "MCP_PUSH_ROUTE_END" in done.stdout
