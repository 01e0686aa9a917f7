"""What the short commands leave unloaded: every agent turn runs `mcp-push hook`, so a module it
imports is time the person waits. With ntfy configured and MCP_PUSH_HOME set, a Stop hook and a
`send` load no other channel module, no renderer, no platformdirs and no signal handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.helpers import run_probe
from tests.server.conftest import server_env

UNLOADED = (
    "mcp_push.render.tree",  # the renderer: a worker's job
    "mcp_push.render.emit",
    "mcp_push.render.html",
    "mcp_push.channels.seal",  # a cached credential: a worker's job
    "mcp_push.channels.telegram",  # any channel the environment does not set
    "mcp_push.channels.wecom_app",
    "platformdirs",  # MCP_PUSH_HOME is set
    "signal",  # only a hook that waits for an answer handles signals
    "mcp_push.asking.listeners",  # asks are looked for only when no delivery is unfinished
    "secrets",
)
PROBE = """
import json, sys
import mcp_push.tasks.drain as drain
drain.spawn_drainer = lambda settings: None  # no worker for this test's ledger: keep it that way
from mcp_push.cli import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "loaded": sorted(m for m in {names} if m in sys.modules),
                  "channels": sorted(m for m in sys.modules if m.startswith("mcp_push.channels."))}}))
"""


@pytest.mark.parametrize("args", [("hook",), ("send", "Deploy done", "v1.2 is live")], ids=["hook", "send"])
def test_a_short_command_loads_only_what_it_uses(tmp_path: Path, fake: FakeNtfy, args: tuple[str, ...]) -> None:
    env = server_env(tmp_path / "home", NTFY.env(fake.url))
    result, stderr = run_probe(PROBE.format(names=UNLOADED), args, env)
    assert result["code"] == 0, stderr
    assert result["loaded"] == [], stderr
    helpers = {"mcp_push.channels.base", "mcp_push.channels.errors", "mcp_push.channels.redact"}
    assert set(result["channels"]) - helpers == {"mcp_push.channels.ntfy"}
