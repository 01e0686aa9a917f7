"""Shared bench helpers: an isolated home, backend URLs, percentiles, a worker subprocess."""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BACKENDS = {
    "sqlite": {},
    "redis": {"MCP_PUSH_QUEUE_URL": "redis://127.0.0.1:6379/15"},
    "postgres": {
        "MCP_PUSH_DB_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "MCP_PUSH_QUEUE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    },
}


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with a fresh MCP_PUSH_HOME and no channel of the user's own."""
    home = Path(tempfile.mkdtemp(prefix="mcp-push-bench-"))
    # Removing the home at exit also ends any drain worker the run left behind (it stops when its home is gone).
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "none.sh").touch()
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "MCP_PUSH_HOME": str(home),
        "MCP_PUSH_CONFIG": str(home / "none.sh"),
        "MCP_PUSH_DEDUPE_SECONDS": "0",
        "MCP_PUSH_RUN_BUDGET": "1000000",
        **(extra or {}),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 50):7.2f} ms  p99 {percentile(values_ms, 99):7.2f} ms  "
        f"mean {statistics.fmean(values_ms):7.2f} ms  (n={len(values_ms)})"
    )


def start_worker(env: dict[str, str], threads: int = 4) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "worker", "--workers", str(threads)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- one-shot commands beside the interpreter's own start -----------------------------------

FLOOR = [sys.executable, "-c", "import sqlite3, json"]


def wall_ms(argv: list[str], env: dict[str, str], stdin: str = "") -> float:
    """Wall time of one process run to its exit, in ms; a failing run ends the bench."""
    import time

    started = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=60)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def line(
    label: str, values: list[float], floor: float | None = None, unit: str = "ms", versus: str = "the floor"
) -> str:
    """One result: median and p90 (and the median as a multiple of ``floor``)."""
    median = statistics.median(values)
    tail = f"   {median / floor:4.2f}x {versus}" if floor else ""
    return (
        f"  {label:<36} median {median:7.1f} {unit}  p90 {percentile(values, 90):7.1f} {unit}  (n={len(values)}){tail}"
    )


def live_worker(env: dict[str, str], threads: int = 2, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """``mcp-push worker`` started and seen alive in the ledger (its heartbeat), with its wake-up socket bound."""
    import time

    from mcp_push.config import load_settings
    from mcp_push.storage import open_ledger

    proc = start_worker(env, threads)
    atexit.register(proc.kill)
    ledger = open_ledger(load_settings(env))
    deadline = time.monotonic() + timeout
    try:
        while not ledger.live_workers(time.time(), 15.0):  # a heartbeat within LIVE_WITHIN
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the worker did not come up")
            time.sleep(0.05)
    finally:
        ledger.close()
    return proc


def wind_down(fake: object, worker: subprocess.Popen[bytes], delivered: int) -> None:
    """Check every notification reached the provider, then stop the worker and the fake."""
    fake.wait_for(delivered, timeout=60)  # type: ignore[attr-defined]
    worker.terminate()
    worker.wait(timeout=30)
    fake.stop()  # type: ignore[attr-defined]
