"""Wake idle SQLite-queue workers the moment there is work, and hand them new deliveries.

SQLite has no blocking dequeue, so idle workers poll. To keep enqueue-to-send latency low
without polling hard, each worker binds a Unix datagram socket in MCP_PUSH_HOME/wake/.
Two messages travel on it:

- ``!``: something was enqueued; stop idling (sent to every worker after an enqueue).
- ``+<id>,<id>…``: a producer committed these deliveries without enqueueing them (it never
  imports the queue); the worker that gets this enqueues them. A producer sends it to one
  worker only, so a delivery gets one task however many workers listen.

A lost ``!`` costs nothing but the next poll; lost ids cost a delay, never a delivery: the
ledger still holds them, and the next worker to start, or the sweep, enqueues them.
(Redis and PostgreSQL queues block or LISTEN on their own, and their producers enqueue.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import socket
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

WAKE = b"!"
HAND_OVER = b"+"
MAX_DATAGRAM = 60_000  # well under the Unix datagram limit; a larger batch goes as several


def wake_dir(home: Path) -> Path:
    return home / "wake"


class WakeListener:
    """A worker's end: ``wait(timeout)`` returns early when a producer nudges; ids handed over
    go to ``on_ids`` (in the listener's thread) before the waiters wake."""

    def __init__(self, home: Path, name: str, on_ids: Callable[[list[int]], None] | None = None):
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
        self.on_ids = on_ids
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="mcp-push-wake", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.5)
            if not ready:
                continue
            ids: list[int] = []
            with contextlib.suppress(BlockingIOError, OSError):
                while chunk := self._sock.recv(MAX_DATAGRAM):
                    if chunk.startswith(HAND_OVER):
                        ids.extend(_parse_ids(chunk[1:]))
            if ids and self.on_ids is not None and not self._stop.is_set():
                try:
                    self.on_ids(ids)
                except Exception:  # the ids stay in the ledger: the next worker start or the sweep enqueues them
                    log.warning("could not enqueue %d handed-over deliveries", len(ids), exc_info=True)
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
            nudge.sendto(WAKE, str(self.path))  # end the listener's select now, not at its next timeout
        self._thread.join(timeout=2)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _sockets(home: Path) -> list[Path]:
    directory = wake_dir(home)
    try:
        return [directory / name for name in os.listdir(directory) if name.endswith(".sock")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _send(sock: socket.socket, path: Path, payload: bytes) -> bool:
    """One datagram; True if a listening socket took it. A dead worker's socket is removed."""
    try:
        sock.sendto(payload, str(path))
        return True
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # its worker died without cleaning up
    except OSError:
        pass  # its buffer is full (it is awake anyway), or the path is unusable
    return False


def _parse_ids(raw: bytes) -> list[int]:
    return [int(part) for part in raw.split(b",") if part.strip().isdigit()]


def _batches(ids: list[int]) -> list[bytes]:
    batches, current = [], HAND_OVER
    for delivery_id in ids:
        part = str(delivery_id).encode()
        if len(current) + len(part) + 1 > MAX_DATAGRAM:
            batches.append(current)
            current = HAND_OVER
        current += part if current == HAND_OVER else b"," + part
    return [*batches, current]


def wake_all(home: Path) -> None:
    """Nudge every listening worker; clean up sockets whose worker is gone."""
    paths = _sockets(home)
    if not paths:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in paths:
            _send(sock, path, WAKE)


def hand_over(home: Path, delivery_ids: list[int]) -> bool:
    """Give committed, not yet enqueued deliveries to one listening worker (tried in random order).

    True when a worker took every batch; False when none listens (or a batch found no taker),
    and the caller must see to them another way.
    """
    paths = _sockets(home)
    if not delivery_ids or not paths:
        return False
    random.shuffle(paths)  # spread producers over the workers of this home
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for batch in _batches(delivery_ids):
            if not any(_send(sock, path, batch) for path in paths):
                return False
    return True
