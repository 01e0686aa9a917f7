"""/metrics and /healthz on the HTTP transport: behind its token, counting what the MCP tools queued."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_until
from tests.server.test_http import MCP_HEADERS, PROTOCOL, auth, start  # noqa: F401 - `start` is a fixture
from tests.test_metrics import scrape, value

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "metrics-test", "version": "0"}},
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_metrics_and_healthz_need_the_token_and_count_tool_calls(start, fake) -> None:  # noqa: F811
    server = start()
    base = f"http://127.0.0.1:{server.port}"
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{base}/metrics").status_code == 401
        assert http.get(f"{base}/healthz").status_code == 401
        health = http.get(f"{base}/healthz", headers=auth())
        assert health.status_code == 200 and health.json()["status"] == "ok"
        before = scrape(f"{base}/metrics", auth())
        assert value(before, "mcp_push_deliveries", channel="ntfy", status="delivered") == 0
        # one notify_send through the MCP endpoint, as a client would
        init = http.post(server.url, json=INIT, headers={**MCP_HEADERS, **auth()})
        assert init.status_code == 200, init.text
        session = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        headers = {**MCP_HEADERS, **auth(), **session}
        http.post(server.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "notify_send", "arguments": {"title": "From HTTP", "content": "counted"}},
        }
        assert http.post(server.url, json=call, headers=headers).status_code == 200
    after = wait_until(
        lambda: (
            (s := scrape(f"{base}/metrics", auth()))
            and value(s, "mcp_push_deliveries", channel="ntfy", status="delivered") == 1
            and s
        ),
        what="the tool call's delivery in /metrics",
    )
    assert value(after, "mcp_push_attempts", channel="ntfy", outcome="delivered") == 1
    assert value(after, "mcp_push_workers_alive") >= 1  # the embedded worker
    assert fake.wait_message()["title"] == "From HTTP"
    assert fake.problems == []
