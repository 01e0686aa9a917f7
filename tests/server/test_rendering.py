"""Rendering arguments over real stdio: format, priority, url and source reach the channel rendered.

The server runs in a project directory (a git checkout on branch ``feature/x``) and the client
names itself, so the default source line is "project · branch · host · client".
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import Implementation

from mcp_push.models import SendReceipt
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.server.conftest import server_env

CLIENT = Implementation(name="test-agent", version="1.0")


def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop-api"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (root / "src").mkdir()
    return root / "src"  # the server starts in a subdirectory: the project is the repository's name


def run(home: Path, cwd: Path, fake: FakeNtfy, calls: list[tuple[str, dict]], extra: dict[str, str] | None = None):
    env = server_env(home, {**NTFY.env(fake.url), **(extra or {})})
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_push", "serve"], env=env, cwd=str(cwd))

    async def scenario():
        async with Client(params, client_info=CLIENT) as client:
            return [await client.call_tool(tool, args) for tool, args in calls]

    return asyncio.run(scenario())


def test_send_with_format_priority_and_url_reaches_ntfy_rendered(home: Path, tmp_path: Path, fake: FakeNtfy) -> None:
    args = {
        "title": "Deploy done",
        "content": "**3** services updated",
        "format": "markdown",
        "priority": "urgent",
        "url": "https://ci.example.com/runs/7",
    }
    (result,) = run(home, project(tmp_path), fake, [("notify_send", args)])
    assert not result.is_error, result.content[0].text
    assert SendReceipt.model_validate(result.structured_content).channels == ["ntfy"]
    (request,) = fake.wait_for(1, timeout=20)
    assert fake.problems == []
    assert request.header("priority") == "5" and request.header("markdown") == "yes"
    assert request.header("click") == "https://ci.example.com/runs/7"
    assert request.header("actions") == "view, Open, https://ci.example.com/runs/7"
    host = socket.gethostname().split(".")[0]
    assert request.body.decode() == f"**3** services updated\n\n*shop-api · feature/x · {host} · test-agent*"


def test_event_text_format_own_source_and_artifact_url(home: Path, tmp_path: Path, fake: FakeNtfy) -> None:
    args = {
        "run_id": "run-20261202-031400-a1b2c3",
        "event": "error",
        "message": "2 *tests* failed",
        "format": "text",
        "source": "nightly · ci-runner",
        "data": {"artifact_url": "https://ci.example.com/a/9"},
    }
    (result,) = run(home, project(tmp_path), fake, [("notify_event", args)])
    assert not result.is_error, result.content[0].text
    (request,) = fake.wait_for(1, timeout=20)
    assert fake.problems == []
    assert request.header("title") == "❌ Failed · run-…a1b2c3"  # short in the title, whole in the body
    assert (request.header("priority"), request.header("tags")) == ("4", "x")
    assert request.header("click") == "https://ci.example.com/a/9"
    body = request.body.decode()
    assert body.startswith("2 \\*tests\\* failed")  # literal: the asterisks are shown, not bold
    assert "run: run-20261202-031400-a1b2c3" in body and body.endswith("*nightly · ci-runner*")


def test_bad_rendering_arguments_are_tool_errors_and_source_off_drops_the_line(
    home: Path, tmp_path: Path, fake: FakeNtfy
) -> None:
    bad = [
        ("notify_send", {"title": "t", "content": "c", "format": "html"}, "format"),
        ("notify_send", {"title": "t", "content": "c", "priority": "asap"}, "low, normal, high, urgent"),
        ("notify_send", {"title": "t", "content": "c", "url": "javascript:alert(1)"}, "http"),
        ("notify_ask", {"question": "Go?", "url": "/relative"}, "absolute"),
        ("notify_event", {"run_id": "r", "event": "end", "message": "m", "source": 7}, "source"),
    ]
    calls = [(tool, args) for tool, args, _ in bad] + [("notify_send", {"title": "after", "content": "plain"})]
    *errors, ok = run(home, project(tmp_path), fake, calls, {"MCP_PUSH_SOURCE": "off"})
    for (tool, _, expected), result in zip(bad, errors, strict=True):
        assert result.is_error and expected in result.content[0].text, (tool, result.content[0].text)
    assert not ok.is_error
    (request,) = fake.wait_for(1, timeout=20)
    assert fake.problems == [] and request.body.decode() == "plain"


def test_the_argument_words_are_the_renderers() -> None:
    """validation keeps its own copies (producers must not import the renderer): they must agree."""
    from mcp_push import render, validation
    from mcp_push.render import priority

    assert validation.FORMATS == render.FORMATS and validation.PRIORITIES == priority.LEVELS


def test_serve_refuses_a_priority_setting_that_is_no_level(home: Path, fake: FakeNtfy) -> None:
    env = server_env(home, {**NTFY.env(fake.url), "MCP_PUSH_PRIORITY_END": "asap"})
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "serve"], input="", capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""  # stdout is the protocol's: nothing there
    assert "MCP_PUSH_PRIORITY_END='asap' is not a priority" in done.stderr and "low, normal" in done.stderr
