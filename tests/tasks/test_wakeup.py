"""Idle SQLite-queue workers wake on a producer's nudge, and stale sockets are cleaned up."""

from __future__ import annotations

import socket
import threading
import time

from mcp_push.tasks.wakeup import WakeListener, wake_all, wake_dir


def test_nudge_wakes_a_waiting_listener(tmp_path) -> None:
    listener = WakeListener(tmp_path, "w1")
    try:
        woke: list[float] = []
        started = time.monotonic()
        waiter = threading.Thread(target=lambda: woke.append(listener.wait(5.0) and time.monotonic() - started))
        waiter.start()
        time.sleep(0.05)
        wake_all(tmp_path)
        waiter.join(timeout=5)
        assert woke and woke[0] is not False  # woken by the nudge, not by the 5 s timeout
        assert listener.wait(0.05) is False  # one nudge, one wake
    finally:
        listener.close()
    assert not listener.path.exists()


def test_dead_worker_sockets_are_removed(tmp_path) -> None:
    directory = wake_dir(tmp_path)
    directory.mkdir()
    stale = directory / "gone.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(stale))
    sock.close()  # bound then closed: the file stays, nobody listens
    wake_all(tmp_path)
    assert not stale.exists()


def test_no_workers_is_fine(tmp_path) -> None:
    wake_all(tmp_path)  # no wake directory at all
