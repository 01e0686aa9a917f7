"""`mcp-push serve` as a plain process speaking raw JSON-RPC: stdout carries protocol
messages only, and SIGTERM does not lose a notification queued a moment before."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import wait_until
from tests.server.conftest import server_env

PROTOCOL = "2025-11-25"


class RawSession:
    def __init__(self, proc: subprocess.Popen[bytes]):
        self.proc = proc
        self.lines: list[bytes] = []
        self._id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> dict | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._id += 1
            message["id"] = self._id
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        if notify:
            return None
        while True:
            line = self.proc.stdout.readline()
            assert line, "server closed stdout"
            self.lines.append(line)
            reply = json.loads(line)
            if reply.get("id") == self._id:
                return reply


def start(home, extra: dict[str, str]) -> RawSession:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(home, extra),
    )
    session = RawSession(proc)
    init = session.send(
        "initialize",
        {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "0"}},
    )
    assert init and init["result"]["serverInfo"]["name"] == "mcp-push"
    session.send("notifications/initialized", notify=True)
    return session


def test_stdout_is_protocol_only_and_sigterm_still_delivers(home, fake, ledger_of) -> None:
    fake.delay = 1.0
    session = start(home, {**NTFY.env(fake.url), "CONSOLE": "true", "MCP_PUSH_LOG": "debug"})
    first = session.send("tools/call", {"name": "notify_send", "arguments": {"title": "one", "content": "first"}})
    assert first and not first["result"].get("isError")
    ledger = ledger_of()
    try:
        # The console channel writes while the session is open: that must go to stderr.
        wait_until(
            lambda: any(
                d["channel"] == "console" and d["status"] == "delivered" for d in ledger.dump_table("deliveries")
            ),
            what="console delivery",
        )
        last = session.send("tools/call", {"name": "notify_send", "arguments": {"title": "last", "content": "x"}})
        assert last is not None
        ticket = last["result"]["structuredContent"]["ticket"]
        session.proc.send_signal(signal.SIGTERM)
        out, err = session.proc.communicate(timeout=20)
        session.lines.extend(out.splitlines(keepends=True))
        wait_until(
            lambda: all(d.status == "delivered" for d in ledger.get_ticket(ticket).deliveries),  # type: ignore[union-attr]
            timeout=30,
            what="deliveries of the ticket queued just before SIGTERM",
        )
    finally:
        ledger.close()
    assert session.proc.returncode == 0
    for line in session.lines:
        message = json.loads(line)  # every stdout line is a JSON-RPC message
        assert message["jsonrpc"] == "2.0"
    assert b"[mcp-push] one" in err  # the console channel wrote to stderr
    assert sorted(r.headers["title"] for r in fake.requests) == ["last", "one"]
