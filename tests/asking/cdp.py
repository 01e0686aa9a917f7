"""Drive headless Chromium over the DevTools protocol on a pipe, to click what a person clicks.

``--remote-debugging-pipe`` makes Chromium read commands from fd 3 and write answers and events
to fd 4 (JSON, each message ended by a NUL byte): no websocket library, no port. Evaluating in
the page through the protocol is not subject to the page's CSP, so the page itself stays
script-free.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.dashboard.browser import _base_args


def _onto_3_and_4(commands: int, answers: int) -> None:
    """In the child: the two pipe ends onto fds 3 and 4 (copied first, so neither clobbers the other)."""
    first, second = os.dup(commands), os.dup(answers)
    os.dup2(first, 3)
    os.dup2(second, 4)


class Browser:
    """One headless Chromium with one tab, attached in flat mode."""

    def __init__(self, binary: str, profile: Path):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The child wants the command pipe on fd 3 and the answer pipe on fd 4.
        self.proc = subprocess.Popen(
            [*_base_args(binary, profile), "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=lambda: _onto_3_and_4(to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._ids = iter(range(1, 10**9))
        self._inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, name="cdp-reader", daemon=True).start()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_child, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                while b"\0" in buffer:
                    raw, buffer = buffer.split(b"\0", 1)
                    self._inbox.put(json.loads(raw))

    def _next(self, deadline: float) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("chromium did not answer in time")
        return self._inbox.get(timeout=left)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            reply = self._next(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise AssertionError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for i, event in enumerate(self._events):
            if event.get("method") == method:
                return self._events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            event = self._next(deadline)
            if event.get("method") == method:
                return event
            self._events.append(event)

    def open(self, url: str) -> None:
        """Navigate and wait until the page has loaded."""
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        return result.get("result", {}).get("value")

    def click_and_wait(self, selector: str) -> None:
        """Click the element (as a person does) and wait for the page the click loads."""
        self._events.clear()
        clicked = self.evaluate(
            f"(() => {{ const b = document.querySelector({json.dumps(selector)}); if (!b) return false; "
            "b.click(); return true; })()"
        )
        assert clicked, f"nothing matches {selector!r}"
        self.wait_event("Page.loadEventFired")

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        os.close(self._to_child)
