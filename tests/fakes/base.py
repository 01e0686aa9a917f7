"""The shared machinery of fake providers.

A fake answers according to its current mode, taken from a script (a queue of modes, then
the default): ``ok`` (the provider's success body), ``permanent`` (a documented permanent
error, often HTTP 200 with an error code), ``transient`` (a 5xx or busy code) and
``rate_limited`` (the provider's slow-down answer). Before answering, ``check`` validates
the request the way the provider does (path, auth, signature, fields); a mismatch is
recorded in ``problems`` and answered with the provider's own rejection.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

MODES = ("ok", "permanent", "transient", "rate_limited")


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when the request arrived

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str:
        """A header as the provider reads it: RFC 2047 words decoded, raw UTF-8 bytes too."""
        raw = self.headers.get(name.lower(), "")
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            raw = raw.encode("latin-1").decode("utf-8")  # http.server reads header bytes as Latin-1
        if "=?" not in raw:
            return raw
        return str(make_header(decode_header(raw)))

    def text(self) -> str:
        """Everything a person could be shown from this request, decoded: body fields and headers."""
        body = self.body.decode("utf-8", "replace")
        kind = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" or body[:1] in "{[":
            with contextlib.suppress(ValueError):
                body = json.dumps(self.json(), ensure_ascii=False)
        elif kind == "application/x-www-form-urlencoded":
            body = json.dumps(self.form(), ensure_ascii=False)
        query = json.dumps({k: v for k, v in self.query.items()}, ensure_ascii=False)
        return "\n".join([body, query, *(self.header(name) for name in self.headers)])


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json; charset=utf-8"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        return (self.body or "").encode(), "text/plain; charset=utf-8"


class Rejected(Exception):
    """Raised by ``check``: the provider would refuse this request with ``reply``."""

    def __init__(self, problem: str, reply: Reply):
        super().__init__(problem)
        self.problem = problem
        self.reply = reply


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-request (a killed worker) is normal here, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeProvider:
    """Subclasses set ``replies`` (mode -> Reply) and implement ``check``."""

    replies: ClassVar[dict[str, Reply]] = {}

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.problems: list[str] = []
        self.delay = 0.0
        self.default_mode = "ok"
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self.received = threading.Condition(self._lock)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # --- control --------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *modes: str) -> None:
        """Answer the next requests with these modes, then with ``default_mode``."""
        for mode in modes:
            assert mode in MODES, mode
        with self._lock:
            self._script.extend(modes)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        with self.received:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self.received.wait(left)
            return list(self.requests)

    def configure(self, env: dict[str, str]) -> None:
        """Learn the values the channel was configured with that the provider checks (a room's name)."""

    # --- behaviour ------------------------------------------------------------
    def check(self, request: Recorded) -> None:
        """Validate as the provider does; raise Rejected on a mismatch."""

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        return self.replies[mode]

    def _answer(self, request: Recorded) -> Reply:
        with self._lock:
            mode = self._script.popleft() if self._script else self.default_mode
        try:
            self.check(request)
        except Rejected as rejected:
            with self._lock:
                self.problems.append(rejected.problem)
            return rejected.reply
        return self.reply_for(mode, request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle's algorithm on, the client's delayed
            # ACK holds each response ~40 ms, which capped a bare Huey + httpx loop at ~90 requests/s.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                if fake.delay:
                    time.sleep(fake.delay)
                reply = fake._answer(request)
                with fake.received:
                    fake.requests.append(request)
                    fake.received.notify_all()
                payload, content_type = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class ChannelCase:
    """How the contract suite drives one channel against its fake.

    ``env`` builds the channel's variables from the fake's base URL. ``secrets`` must never
    appear in the ledger, logs or output. ``permanent_reason`` is a fragment of the
    provider's reason that the failed delivery must show. ``rate_wait`` is how long the
    provider's rate-limit answer asks us to wait (None: the channel has no such answer).
    """

    channel: str
    fake: type[FakeProvider]
    env: Callable[[str], dict[str, str]]
    secrets: tuple[str, ...]
    permanent_reason: str
    rate_wait: float | None = None
