"""`mcp-push serve` as a plain process speaking raw JSON-RPC: stdout carries protocol
messages only, SIGTERM does not lose a notification queued a moment before, and a stop
with sends in flight ends within 10 s without sending anything twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import wait_until
from tests.server.conftest import server_env
from tests.tasks.stopping import ArrivalNtfy, wait_for_drainer_to_leave

PROTOCOL = "2025-11-25"
STOP_REQUIREMENT = 10.0  # seconds: serve must be gone this long after SIGTERM or stdin close


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


@pytest.fixture
def slow_ntfy() -> Iterator[ArrivalNtfy]:
    provider = ArrivalNtfy().start()
    yield provider
    provider.stop()


def _three_in_flight(home, provider: ArrivalNtfy, extra: dict[str, str]) -> RawSession:
    """A serve session with three notifications whose requests the (slow) provider is holding."""
    session = start(home, {**NTFY.env(provider.url), "MCP_PUSH_LOG": "info", **extra})
    for i in range(3):
        reply = session.send("tools/call", {"name": "notify_send", "arguments": {"title": f"m{i}", "content": "x"}})
        assert reply and not reply["result"].get("isError")
    provider.arrived(3)
    return session


def _stop(session: RawSession, how: str) -> tuple[float, bytes]:
    """Ask serve to stop as a client would; the process must be gone within 10 s (the requirement)."""
    assert session.proc.stdin is not None and session.proc.stderr is not None
    asked = time.monotonic()
    if how == "sigterm":
        session.proc.send_signal(signal.SIGTERM)
    else:
        session.proc.stdin.close()  # the client disconnected
    try:
        session.proc.wait(timeout=STOP_REQUIREMENT)
    except subprocess.TimeoutExpired:
        session.proc.kill()
        raise AssertionError(f"serve still running {STOP_REQUIREMENT}s after {how}") from None
    return asked, session.proc.stderr.read()


@pytest.mark.parametrize("how", ["sigterm", "stdin"])
def test_stop_with_sends_in_flight_lets_them_finish_and_sends_nothing_twice(
    home, slow_ntfy, ledger_of, how: str
) -> None:
    slow_ntfy.delay = 3.0  # longer than the old 2 s join: its sends were cut off and sent again
    session = _three_in_flight(home, slow_ntfy, {})
    _, err = _stop(session, how)
    assert session.proc.returncode == 0, err
    ledger = ledger_of()
    try:
        wait_until(lambda: ledger.unfinished_count() == 0, what="every delivery to settle")
        wait_for_drainer_to_leave(home)
        deliveries = ledger.dump_table("deliveries")
        attempts = ledger.dump_table("attempts")
    finally:
        ledger.close()
    assert Counter(d["status"] for d in deliveries) == {"delivered": 3}
    assert [a["outcome"] for a in attempts] == ["delivered"] * 3, attempts  # no "Bad file descriptor"
    assert Counter(title for title, _ in slow_ntfy.arrivals) == {"m0": 1, "m1": 1, "m2": 1}
    assert b"Traceback" not in err and b"Bad file descriptor" not in err


def test_sends_that_outlast_the_grace_are_released_and_sent_exactly_once_more(home, slow_ntfy, ledger_of) -> None:
    slow_ntfy.delay = 4.0
    session = _three_in_flight(home, slow_ntfy, {"MCP_PUSH_STOP_GRACE": "0.5"})
    asked, err = _stop(session, "sigterm")
    assert session.proc.returncode == 0, err
    assert b"handing them back" in err
    ledger = ledger_of()
    try:
        wait_until(lambda: ledger.unfinished_count() == 0, timeout=60, what="the drain worker to deliver")
        wait_for_drainer_to_leave(home)
        deliveries = ledger.dump_table("deliveries")
    finally:
        ledger.close()
    assert Counter(d["status"] for d in deliveries) == {"delivered": 3}
    # What was on the wire when serve stopped goes out once more, from the drain worker, and only once.
    assert slow_ntfy.arrivals_after(asked) == ["m0", "m1", "m2"]
