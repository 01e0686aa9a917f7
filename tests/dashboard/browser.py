"""Headless Chromium against a dashboard served by uvicorn in a thread, for the browser test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.helpers import wait_until

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install it with `apt-get install -y chromium` (Debian package `chromium`)"


def find_chromium() -> str | None:
    """``$CHROMIUM`` if set, else the first Chromium-like browser on PATH."""
    explicit = os.environ.get("CHROMIUM", "").strip()
    if explicit:
        return shutil.which(explicit)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser binary; a missing one fails in CI (it must be installed there) and skips elsewhere."""
    binary = find_chromium()
    if binary is None:
        message = f"headless Chromium not found on PATH; {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def _base_args(binary: str, profile: Path) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    if result.returncode != 0:
        raise AssertionError(f"chromium exited with {result.returncode}: {result.stderr[-2000:]}")
    return result


def dump_dom(binary: str, url: str, profile: Path, *, virtual_ms: int | None = None) -> str:
    """The DOM after the page loaded and its script ran (what a person's browser shows).

    ``virtual_ms`` lets that much page time pass first (timers fire at once), to see a refresh happen.
    """
    budget = [f"--virtual-time-budget={virtual_ms}"] if virtual_ms else []
    return _run([*_base_args(binary, profile), *budget, "--dump-dom", url]).stdout


def screenshot(binary: str, url: str, path: Path, profile: Path, size: tuple[int, int] = (1280, 900)) -> Path:
    _run([*_base_args(binary, profile), f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url])
    assert path.is_file(), f"chromium wrote no screenshot at {path}"
    return path


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dashboard-server", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=15, what="the dashboard server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
