"""Closing the SQLite ledger while other threads still use it (a listener finishing its long poll
after its worker stopped): each statement in progress ends first, and nothing crashes.

Run in a child process: closing a connection under a statement used to kill the interpreter
(SIGSEGV), which would take the test session with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RACE = """
import sys, threading, time
from mcp_push.storage.sqlite import SqliteLedger
ledger = SqliteLedger(sys.argv[1])
stop = threading.Event()
def use(write):
    i = 0
    while not stop.is_set():
        i += 1
        try:
            ledger.cursor_put("c", str(i), time.time()) if write else ledger.cursor_get("c")
        except Exception as exc:  # a clean error is fine; a crash is not
            print(type(exc).__name__)
threads = [threading.Thread(target=use, args=(write,)) for write in (True, True, False, False)]
for t in threads:
    t.start()
for _ in range(300):
    time.sleep(0.001)
    ledger.close()
stop.set()
for t in threads:
    t.join()
ledger.close()
print("done")
"""


def test_closing_under_running_statements_waits_for_them(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(tmp_path / "ledger.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.splitlines()[-1] == "done"
