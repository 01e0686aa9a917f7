"""`mcp-push serve --transport http`: the same tools over streamable HTTP, behind a token and Host checks.

A real server process is driven by the official MCP client (with an Authorization header
on its HTTP client) and by plain HTTP requests for what a client must not get through.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_push.config import Settings
from mcp_push.errors import ConfigError
from mcp_push.models import SendReceipt
from mcp_push.server import http as transport
from mcp_push.server.http import HostRules, check_http_settings, is_loopback, token_matches
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import TOOLS, poll_status, wait_until
from tests.server.conftest import server_env

TOKEN = "Zk3xv9Qm2WcT8rNb5YhL0pJd7sGf4aE1"
PROTOCOL = "2025-11-25"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "0"}},
}
SEND_CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "notify_send", "arguments": {"title": "sneaky", "content": "should never be queued"}},
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen[str], port: int):
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"the server did not stop within {timeout}s of signal {sig}: {err}") from None
        return self.proc.returncode, err


@pytest.fixture
def start(home: Path, fake) -> Iterator[Any]:
    started: list[Server] = []

    def go(extra: dict[str, str] | None = None, host: str | None = None, token: str | None = TOKEN) -> Server:
        port = free_port()
        env = server_env(
            home, {**NTFY.env(fake.url), **({"MCP_PUSH_HTTP_TOKEN": token} if token else {}), **(extra or {})}
        )
        argv = [sys.executable, "-m", "mcp_push", "serve", "--transport", "http", "--port", str(port)]
        if host:
            argv += ["--host", host]
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        server = Server(proc, port)
        started.append(server)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not start listening within 60s") from None
                time.sleep(0.05)
        return server

    yield go
    for server in started:
        if server.proc.poll() is None:
            server.stop()


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tickets_of(ledger_of) -> list[dict[str, Any]]:
    ledger = ledger_of()
    try:
        return ledger.dump_table("tickets")
    finally:
        ledger.close()


# --- over the wire ----------------------------------------------------------------------------


def test_a_call_with_the_token_is_delivered(start, fake, ledger_of) -> None:
    server = start()

    async def scenario():
        async with (
            httpx2.AsyncClient(headers=auth(), timeout=30) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            tools = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool(
                "notify_send", {"title": "Tests passed", "content": "412 passed", "run_id": "http-1"}
            )
            doc = await poll_status(client, 20, run_id="http-1")
            return tools, result, doc

    tools, result, doc = asyncio.run(scenario())
    assert tools == TOOLS
    assert not result.is_error, result.content
    receipt = SendReceipt.model_validate(result.structured_content)
    assert receipt.run_id == "http-1" and receipt.channels == ["ntfy"]
    assert doc.status == "success"
    (request,) = fake.wait_for(1)
    assert request.headers["title"] == "Tests passed" and request.body.startswith(b"412 passed\n\n")  # + source


@pytest.mark.parametrize("headers", [{}, auth("wrong-token"), {"Authorization": TOKEN}, auth(TOKEN + "x")])
def test_missing_or_wrong_token_is_401_and_nothing_is_queued(start, ledger_of, headers) -> None:
    server = start()
    with httpx.Client(timeout=10) as http:
        init = http.post(server.url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
        call = http.post(server.url, json=SEND_CALL, headers={**MCP_HEADERS, **headers})
        stream = http.get(server.url, headers={"Accept": "text/event-stream", **headers})
    for response in (init, call, stream):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in init.text
    assert tickets_of(ledger_of) == []


def test_the_official_client_without_the_token_is_refused(start, ledger_of) -> None:
    server = start()

    async def scenario():
        async with Client(server.url) as client:
            await client.call_tool("notify_send", {"title": "t", "content": "c"})

    with pytest.raises(Exception) as caught:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    assert "error" in repr(caught.value).lower()  # an MCPError inside the client's task group
    assert tickets_of(ledger_of) == []


def test_bad_host_or_origin_is_rejected_even_with_the_token(start, ledger_of) -> None:
    server = start()
    with httpx.Client(timeout=10) as http:
        host = http.post(
            server.url, json=SEND_CALL, headers={**MCP_HEADERS, **auth(), "Host": f"evil.example:{server.port}"}
        )
        origin = http.post(
            server.url, json=INITIALIZE, headers={**MCP_HEADERS, **auth(), "Origin": "http://evil.example"}
        )
        fine = http.post(
            server.url,
            json=INITIALIZE,
            headers={
                **MCP_HEADERS,
                **auth(),
                "Host": f"localhost:{server.port}",
                "Origin": f"http://localhost:{server.port}",
            },
        )
    assert host.status_code == 421 and "MCP_PUSH_HTTP_ALLOWED_HOSTS" in host.json()["message"]
    assert origin.status_code == 403
    assert fine.status_code == 200, fine.text
    assert tickets_of(ledger_of) == []


def test_non_loopback_without_token_refuses_to_start(home, fake) -> None:
    env = server_env(home, NTFY.env(fake.url))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcp_push",
            "serve",
            "--transport",
            "http",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "MCP_PUSH_HTTP_TOKEN" in done.stderr and "0.0.0.0" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (home / "ledger.sqlite3").exists()  # refused before anything was opened


def test_non_loopback_with_token_serves(start, fake) -> None:
    server = start(host="0.0.0.0")
    with httpx.Client(timeout=10) as http:
        ok = http.post(server.url, json=INITIALIZE, headers={**MCP_HEADERS, **auth()})
        refused = http.post(server.url, json=INITIALIZE, headers=MCP_HEADERS)
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 401


def test_port_in_use_is_a_clear_error(start, home, fake) -> None:
    server = start()
    env = server_env(home, {**NTFY.env(fake.url), "MCP_PUSH_HTTP_TOKEN": TOKEN})
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "serve", "--transport", "http", "--port", str(server.port)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f":{server.port}" in done.stderr and "--port" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_and_cleanup_runs(start, ledger_of, fake, sig) -> None:
    server = start(extra={"MCP_PUSH_LOG": "info"})
    with httpx.Client(timeout=10) as http:
        assert http.post(server.url, json=INITIALIZE, headers={**MCP_HEADERS, **auth()}).status_code == 200
    ledger = ledger_of()
    try:
        wait_until(lambda: ledger.dump_table("workers"), what="the embedded worker's heartbeat")
        code, err = server.stop(sig)
        assert code == 0, err
        assert "stopping on signal" in err  # serve()'s KeyboardInterrupt branch ran
        assert "Traceback" not in err
        assert ledger.dump_table("workers") == []  # the embedded worker was stopped and forgotten
    finally:
        ledger.close()


@pytest.mark.skipif(importlib.util.find_spec("mcp_push.dashboard") is None, reason="the dashboard is not installed")
def test_dashboard_is_mounted_behind_the_same_token(start) -> None:
    server = start()
    base = f"http://127.0.0.1:{server.port}/dashboard/"
    basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
    with httpx.Client(timeout=10) as http:
        anonymous = http.get(base)
        bearer = http.get(base, headers=auth())
        browser = http.get(base, headers={"Authorization": f"Basic {basic}"})
        wrong = http.get(base, headers=auth("nope"))
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
    assert wrong.status_code == 401
    assert bearer.status_code == 200 and browser.status_code == 200
    assert "text/html" in bearer.headers["content-type"]


# --- the pieces, in process -------------------------------------------------------------------------


def settings(tmp_path: Path, token: str | None = None, **env: str) -> Settings:
    from tests.conftest import settings_for

    return settings_for(tmp_path / "home", {**({"MCP_PUSH_HTTP_TOKEN": token} if token else {}), **env})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.20", False),
        ("myhost.example", False),
    ],
)
def test_loopback_detection(host, loopback) -> None:
    assert is_loopback(host) is loopback


def test_check_http_settings(tmp_path) -> None:
    check_http_settings(settings(tmp_path), "127.0.0.1")
    check_http_settings(settings(tmp_path, TOKEN), "0.0.0.0")
    with pytest.raises(ConfigError, match="MCP_PUSH_HTTP_TOKEN"):
        check_http_settings(settings(tmp_path), "0.0.0.0")
    with pytest.raises(ConfigError, match="every address"):
        check_http_settings(settings(tmp_path), "")


def test_token_matching() -> None:
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer   {TOKEN} ", TOKEN)
    assert token_matches(f"Basic {basic}", TOKEN)
    for bad in (None, "", TOKEN, f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", "Basic !!!", "Basic " + "x" * 10, "Bearer"):
        assert not token_matches(bad, TOKEN), bad
    assert not token_matches("Bearer ünïcode", TOKEN)  # non-ASCII compares safely, never raises


def test_host_rules() -> None:
    rules = HostRules("127.0.0.1", 8765, ["mcp.example.org"])
    assert all(rules.host_ok(h) for h in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "mcp.example.org"))
    assert not any(rules.host_ok(h) for h in (None, "evil.example:8765", "127.0.0.1:9999", "localhost.evil:8765"))
    assert (
        rules.origin_ok(None)
        and rules.origin_ok("http://localhost:8765")
        and rules.origin_ok("https://mcp.example.org")
    )
    assert not rules.origin_ok("http://evil.example")
    wildcard = HostRules("0.0.0.0", 8765)
    assert wildcard.host_ok(f"{socket.gethostname().lower()}:8765") and wildcard.host_ok("127.0.0.1:8765")
    assert HostRules("127.0.0.1", 8765, ["*"]).host_ok("anything.example")
    sdk = rules.sdk_settings()
    assert sdk.enable_dns_rebinding_protection and "localhost:8765" in sdk.allowed_hosts


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    """build_http_app around a real MCPServer, with a stand-in dashboard (or none)."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from mcp_push.notifier import Notifier
    from mcp_push.server.app import build_server
    from mcp_push.tasks.runtime import Runtime

    opened: list[Runtime] = []

    def go(dashboard: Any = "stub") -> TestClient:
        s = settings(tmp_path, TOKEN)
        runtime = Runtime.open(s)
        opened.append(runtime)
        if dashboard == "stub":

            def factory(source: Any, *, base_path: str, settings: Settings) -> Starlette:
                assert source is runtime and base_path == "/dashboard"
                return Starlette(routes=[Route("/", lambda request: PlainTextResponse("dashboard here"))])

            monkeypatch.setattr(transport, "dashboard_factory", lambda: factory)
        else:
            monkeypatch.setattr(transport, "dashboard_factory", lambda: dashboard)
        app = transport.build_http_app(
            build_server(Notifier(runtime)), s, host="127.0.0.1", port=8765, dashboard_source=runtime
        )
        return TestClient(app, base_url="http://127.0.0.1:8765")

    yield go
    for runtime in opened:
        runtime.close()


def test_stub_dashboard_is_behind_the_gate(in_process) -> None:
    with in_process() as client:
        assert client.get("/dashboard/").status_code == 401
        assert client.get("/dashboard/", headers=auth()).text == "dashboard here"
        bad_host = client.get("/dashboard/", headers={**auth(), "Host": "evil.example:8765"})
        assert bad_host.status_code == 421


def test_a_broken_dashboard_does_not_take_mcp_down(in_process) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("dashboard bug")

    with in_process(dashboard=broken) as client:
        assert client.get("/dashboard/", headers=auth()).status_code == 404
        init = client.post("/mcp", content=json.dumps(INITIALIZE), headers={**MCP_HEADERS, **auth()})
        assert init.status_code == 200, init.text


def test_no_dashboard_module_means_no_mount(in_process) -> None:
    with in_process(dashboard=None) as client:
        assert client.get("/dashboard/", headers=auth()).status_code == 404


# --- token rules, and tokens kept out of logs ---------------------------------------------------------


def _serve_http(home: Path, fake, *, host: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = server_env(home, {**NTFY.env(fake.url), **extra})
    argv = [sys.executable, "-m", "mcp_push", "serve", "--transport", "http", "--host", host]
    return subprocess.run([*argv, "--port", str(free_port())], capture_output=True, text=True, env=env, timeout=60)


def test_non_loopback_with_a_short_token_refuses_to_start(home, fake) -> None:
    done = _serve_http(home, fake, host="0.0.0.0", extra={"MCP_PUSH_HTTP_TOKEN": "x" * 31})
    assert done.returncode == 2, done.stderr
    assert "31 characters" in done.stderr and "at least 32" in done.stderr
    assert "secrets.token_urlsafe(32)" in done.stderr and "x" * 31 not in done.stderr
    assert "Traceback" not in done.stderr and not (home / "ledger.sqlite3").exists()


def test_allowed_hosts_star_without_a_token_refuses_to_start(home, fake) -> None:
    done = _serve_http(home, fake, host="127.0.0.1", extra={"MCP_PUSH_HTTP_ALLOWED_HOSTS": "*"})
    assert done.returncode == 2, done.stderr
    assert "MCP_PUSH_HTTP_ALLOWED_HOSTS='*' without a token" in done.stderr and "DNS rebinding" in done.stderr
    assert "Traceback" not in done.stderr and not (home / "ledger.sqlite3").exists()


def test_token_rules_in_process(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"has 16 characters.*at least 32.*token_urlsafe"):
        check_http_settings(settings(tmp_path, "s" * 16), "192.168.1.20")
    with pytest.raises(ConfigError, match="without a token"):
        check_http_settings(settings(tmp_path, None, MCP_PUSH_HTTP_ALLOWED_HOSTS="mcp.example.org, *"), "127.0.0.1")
    check_http_settings(settings(tmp_path, TOKEN, MCP_PUSH_HTTP_ALLOWED_HOSTS="*"), "0.0.0.0")
    check_http_settings(settings(tmp_path, "short-but-local"), "127.0.0.1")  # a warning only


def test_a_token_in_the_query_string_is_never_logged(start) -> None:
    secret_a, secret_b = "QueryTok3nNeverLogged0000000000000", "AccessTok3nNeverLogged00000000000"
    server = start(extra={"MCP_PUSH_LOG": "info"})
    with httpx.Client(timeout=10) as http:
        http.post(f"{server.url}?token={secret_a}", json=INITIALIZE, headers={**MCP_HEADERS, **auth()})
        http.get(f"{server.url}?x=1&access_token={secret_b}&y=2", headers=auth())
        http.get(f"{server.url}?t={TOKEN}", headers=auth())
    code, err = server.stop()
    assert code == 0, err
    assert "/mcp?token=***" in err and "/mcp?x=1&access_token=***&y=2" in err  # the access log did run
    assert secret_a not in err and secret_b not in err and TOKEN not in err


def test_redact_url() -> None:
    from mcp_push.http_guard import redact_url

    assert redact_url("GET /mcp?token=abc&x=1 HTTP/1.1") == "GET /mcp?token=***&x=1 HTTP/1.1"
    assert redact_url("/p?ACCESS_TOKEN=abc#frag") == "/p?ACCESS_TOKEN=***#frag"
    assert redact_url("/p?tokens=kept&key=k", ["kept"]) == "/p?tokens=***&key=***"
