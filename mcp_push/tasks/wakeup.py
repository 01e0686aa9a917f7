"""Wake idle SQLite-queue workers the moment something is enqueued.

SQLite has no blocking dequeue, so idle workers poll. To keep enqueue-to-send latency low
without polling hard, each worker binds a Unix datagram socket in MCP_PUSH_HOME/wake/ and
producers send one byte to every such socket after enqueueing. A lost nudge costs nothing
but the next poll. (Redis and PostgreSQL queues block or LISTEN on their own.)
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from pathlib import Path


def wake_dir(home: Path) -> Path:
    return home / "wake"


class WakeListener:
    """A worker's end: ``wait(timeout)`` returns early when a producer nudges."""

    def __init__(self, home: Path, name: str):
        directory = wake_dir(home)
        directory.mkdir(mode=0o700, exist_ok=True)
        if directory.is_symlink() or not directory.is_dir():  # never bind through a link planted in the home
            raise NotADirectoryError(f"{directory} is not a plain directory")
        self.path = directory / f"{name}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.path))
        self._sock.setblocking(False)
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="mcp-push-wake", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.5)
            if not ready:
                continue
            with contextlib.suppress(BlockingIOError, OSError):
                while self._sock.recv(64):
                    pass
            self.event.set()

    def wait(self, timeout: float) -> bool:
        woken = self.event.wait(timeout)
        if woken:
            self.event.clear()
        return woken

    def close(self) -> None:
        self._stop.set()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as nudge, contextlib.suppress(OSError):
            nudge.setblocking(False)
            nudge.sendto(b"!", str(self.path))  # end the listener's select now, not at its next timeout
        self._thread.join(timeout=2)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def wake_all(home: Path) -> None:
    """Nudge every listening worker; clean up sockets whose worker is gone."""
    directory = wake_dir(home)
    try:
        paths = [directory / name for name in os.listdir(directory) if name.endswith(".sock")]
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in paths:
            try:
                sock.sendto(b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # its worker died without cleaning up
            except (BlockingIOError, OSError):
                pass  # its buffer is full: it is awake anyway
