"""The wheel, built once per session from the source tree, and clean environments to install it in.

Every install reaches PyPI for the dependencies (pip, pipx and uv use the machine's index as
configured) and nothing else; the tools themselves come from the `test` extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A tool the `test` extra installs beside this interpreter (build, pipx, uv, uvx)."""
    path = BIN / name
    assert path.exists(), f"{name} is missing: install the test extra (pip install -e '.[test]')"
    return str(path)


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment without this venv on PATH, so nothing finds the source tree's mcp-push by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PIPX_", "UV_TOOL"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
    env["HOME"] = str(tmp / "home")
    (tmp / "home").mkdir(exist_ok=True)
    env["MCP_PUSH_HOME"] = str(tmp / "mcp-push-home")
    env.update(extra)
    return env


def run(
    argv: list[str], env: dict[str, str] | None = None, timeout: float = 300, **kw
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, **kw)
    assert done.returncode == 0, f"{argv[:3]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`python -m build --wheel` of this checkout's package, built in a temporary copy (setuptools writes
    build/ and egg-info where it builds: never in the tree) into a temporary dist/."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "mcp_push", source / "mcp_push", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)], timeout=600)
    wheels = sorted(out.glob("mcp_push-*.whl"))
    assert len(wheels) == 1, wheels
    yield wheels[0]
