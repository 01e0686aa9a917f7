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
