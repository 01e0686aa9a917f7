"""Helpers for stop/start tests against real processes: a provider that notes arrivals, a TCP proxy
that can refuse, forward or hang, and process plumbing."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mcp_push.tasks.drain import try_lock
from tests.fakes.ntfy import FakeNtfy
from tests.helpers import wait_until
from tests.server.conftest import server_env


class ArrivalNtfy(FakeNtfy):
    """The ntfy fake, noting each request the moment it arrives (``requests`` fills only after ``delay``)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []  # (title, time.monotonic())
        super().__init__()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler_class()
        fake = self

        class Handler(base):  # type: ignore[valid-type, misc]
            def do_POST(self) -> None:
                with fake.received:
                    fake.arrivals.append((self.headers.get("Title", ""), time.monotonic()))
                    fake.received.notify_all()
                super().do_POST()

        return Handler

    def arrived(self, count: int, timeout: float = 30.0) -> None:
        wait_until(lambda: len(self.arrivals) >= count, timeout=timeout, what=f"{count} requests at the provider")

    def arrivals_after(self, moment: float) -> list[str]:
        with self.received:
            return sorted(title for title, at in self.arrivals if at > moment)


def free_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def via_port(url: str, port: int) -> str:
    """``url`` with its host:port replaced by 127.0.0.1:``port`` (user, password, path and query kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo + '@' if userinfo else ''}127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class TcpProxy:
    """A TCP proxy on 127.0.0.1:``port`` to ``target``.

    ``listen()`` starts it: ``mode`` "forward" relays both ways, "reject" accepts and closes
    at once (a server that is not ready), "hang" keeps every connection open and passes
    nothing (a server that went away without closing). ``swallowed`` counts bytes a client
    sent into a hung connection; ``accepted`` counts connections.
    """

    def __init__(self, target: tuple[str, int], port: int | None = None, mode: str = "forward"):
        self.target = target
        self.port = port or free_port()
        self.mode = mode
        self.accepted = 0
        self.swallowed = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def listen(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def hang(self) -> None:
        self.mode = "hang"

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            if self.mode == "reject":
                client.close()
                continue
            upstream = None
            if self.mode == "forward":
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
            with self._lock:
                self._sockets.extend(s for s in (client, upstream) if s is not None)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            if upstream is not None:
                threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket | None) -> None:
        source.settimeout(0.1)
        while not self._closed.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                break
            if self.mode == "hang" or sink is None:
                with self._lock:
                    self.swallowed += len(data)
                continue
            try:
                sink.sendall(data)
            except OSError:
                return
        if self.mode != "hang":
            for sock in (source, sink):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


def target_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 0


@contextlib.contextmanager
def proxy(url: str, *, mode: str = "forward", listening: bool = True) -> Iterator[tuple[TcpProxy, str]]:
    """A TcpProxy to the server of ``url`` and the URL that goes through it."""
    relay = TcpProxy(target_of(url), mode=mode)
    if listening:
        relay.listen()
    try:
        yield relay, via_port(url, relay.port)
    finally:
        relay.close()


def start_worker(home: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``mcp-push worker ARGS`` with its stderr in ``log``."""
    with open(log, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_push", "worker", *args],
            env=server_env(home, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def wait_for_drainer_to_leave(home: Path, timeout: float = 60.0) -> None:
    """Until no drain worker holds MCP_PUSH_HOME/drain.lock (so nothing more can be sent from there)."""

    def free() -> bool:
        lock = try_lock(home / "drain.lock")
        if lock is None:
            return False
        lock.close()
        return True

    if (home / "drain.lock").exists():
        wait_until(free, timeout=timeout, what="the drain worker to finish")
