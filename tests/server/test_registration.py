"""The registration lines users of the original mcp-push already have: `mcp-push --transport stdio`
and bare `mcp-push` (after `claude|codex|gemini mcp add … --`) start the MCP server exactly as
`mcp-push serve` does. Driven by the official MCP client over real stdio (and streamable HTTP)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_push import __version__
from mcp_push.models import SendReceipt
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import TOOLS
from tests.server.conftest import server_env

HTTP_TOKEN = "Rg7pW2xK9qLm4TzB8vN1cY6hJ3sD0fAe"


async def _initialize_and_list(client: Client) -> tuple[str | None, set[str], SendReceipt]:
    tools = {t.name for t in (await client.list_tools()).tools}
    sent = await client.call_tool("notify_send", {"title": "registered", "content": "the old line works"})
    assert not sent.is_error, sent.content
    name = client.server_info.name if client.server_info else None
    return name, tools, SendReceipt.model_validate(sent.structured_content)


@pytest.mark.parametrize(
    "argv",
    [
        ["--transport", "stdio"],  # the original's documented line
        [],  # bare `mcp-push`
        ["-v", "--transport", "stdio"],
        ["serve", "-v"],  # -v after the command
    ],
    ids=["transport-stdio", "bare", "v-transport-stdio", "serve-v"],
)
def test_registration_line_serves_mcp_over_stdio(home: Path, fake, argv: list[str]) -> None:
    env = server_env(home, NTFY.env(fake.url))
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_push", *argv], env=env)

    async def scenario():
        async with Client(params) as client:
            return await _initialize_and_list(client)

    name, tools, receipt = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert name == "mcp-push"
    assert tools == TOOLS
    assert receipt.status == "queued" and receipt.channels == ["ntfy"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_transport_http_without_serve_serves_mcp_over_http(home: Path, fake) -> None:
    port = _free_port()
    env = server_env(home, {**NTFY.env(fake.url), "MCP_PUSH_HTTP_TOKEN": HTTP_TOKEN})
    argv = [sys.executable, "-m", "mcp_push", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode(errors="replace")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen within 60s"
                time.sleep(0.05)

        async def scenario():
            headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as http,
                Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
            ):
                return await _initialize_and_list(client)

        name, tools, receipt = asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert name == "mcp-push" and tools == TOOLS and receipt.channels == ["ntfy"]
    assert out == b""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["--help"], "Without a command, mcp-push runs `serve`"), (["--version"], f"mcp-push {__version__}")],
)
def test_help_and_version_still_answer(home: Path, argv: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", *argv],
        capture_output=True,
        text=True,
        env=server_env(home, {}),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
