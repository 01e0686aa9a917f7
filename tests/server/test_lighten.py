"""What serve does before its embedded worker starts to keep its memory down: httpx without its
command line, and glibc's malloc arenas capped. Both must leave delivery, and a process that
already chose otherwise, alone; the figures they save live in bench/rss.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mcp_push.server import limit_malloc_arenas

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_httpx_imported_after_skip_has_no_cli_and_still_sends() -> None:
    done = run(
        """
        import sys
        from mcp_push.server import skip_httpx_cli
        skip_httpx_cli()
        import httpx
        transport = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
        with httpx.Client(transport=transport) as client:
            assert client.post("https://example.invalid/x", json={"a": 1}).text == "ok"
        print("pygments" in sys.modules, sys.modules.get("httpx._main", 0) is None)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_skip_leaves_an_httpx_already_imported_alone() -> None:
    done = run(
        """
        import httpx
        main = httpx.main
        from mcp_push.server import skip_httpx_cli
        skip_httpx_cli()
        import sys
        print(httpx.main is main, "pygments" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_malloc_arena_max_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_arena_cap_takes_on_glibc_and_threads_still_allocate() -> None:
    done = run(
        """
        import threading
        from mcp_push.server import limit_malloc_arenas
        took = limit_malloc_arenas()
        out = []
        threads = [threading.Thread(target=lambda: out.append(len(bytearray(1 << 20)))) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(took, len(out))
        """
    )
    assert done.returncode == 0, done.stderr
    took, allocated = done.stdout.split()
    assert allocated == "8"
    assert took in ("True", "False")  # False: not glibc (musl); nothing to cap then
