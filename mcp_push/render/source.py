"""The source line, "project · branch · host · agent · session", and short run ids for titles.

The working directory is untrusted input (a cloned repository): nothing in it is ever run.
The branch is read from ``.git/HEAD`` as a file; a ``.git`` *file* (worktree, submodule) is
followed to its gitdir, read-only, once, and every read is bounded. Every part is made inert
(no control or escape characters, one line) and capped in length.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from mcp_push.terminal import printable

SEPARATOR = " · "
PART_MAX = 40
LINE_MAX = 160
READ_MAX = 4096  # a HEAD or .git file is a line; anything bigger is not one
SEARCH_DEPTH = 64  # parent directories searched for a .git
OFF_WORDS = {"0", "off", "false", "no", "none"}


def clean(value: str, limit: int = PART_MAX) -> str:
    """One inert line of at most ``limit`` characters."""
    line = " ".join(printable(value).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _read_small(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(READ_MAX + 1)
    except OSError:
        return None
    if len(data) > READ_MAX:
        return None
    return data.decode("utf-8", "replace").strip()


def _git_dir(marker: Path) -> Path | None:
    """The repository's git directory: ``.git`` itself, or the one a ``.git`` file points to."""
    if marker.is_dir():
        return marker
    content = _read_small(marker)
    if not content or not content.startswith("gitdir:"):
        return None
    target = Path(content[len("gitdir:") :].strip())
    if not target.is_absolute():
        target = marker.parent / target
    return target if target.is_dir() else None


def branch_of(git_dir: Path) -> str | None:
    """The checked-out branch (``main``), a short commit when detached, or None."""
    head = _read_small(git_dir / "HEAD")
    if not head:
        return None
    if head.startswith("ref:"):
        ref = head[4:].strip()
        return ref.removeprefix("refs/heads/") or None
    return head[:7] if all(c in "0123456789abcdef" for c in head[:40].lower()) else None


def project_and_branch(cwd: str | os.PathLike[str] | None) -> tuple[str, str | None]:
    """The repository's directory name and branch for ``cwd`` (the directory's own name and None
    outside a repository)."""
    if not cwd:
        return "", None
    start = Path(cwd)
    try:
        start = start.absolute()
    except OSError:
        return "", None
    here = start
    for _ in range(SEARCH_DEPTH):
        marker = here / ".git"
        if marker.exists():
            git_dir = _git_dir(marker)
            return here.name, branch_of(git_dir) if git_dir else None
        if here.parent == here:
            break
        here = here.parent
    return start.name, None


def short_host() -> str:
    return socket.gethostname().split(".")[0]


def source_line(
    *,
    cwd: str | os.PathLike[str] | None = None,
    agent: str | None = None,
    session: str | None = None,
    env: Mapping[str, str] | None = None,
    host: str | None = None,
) -> str | None:
    """ "project · branch · host · agent · session" (empty parts left out), or None when
    MCP_PUSH_SOURCE=off."""
    env = os.environ if env is None else env
    if env.get("MCP_PUSH_SOURCE", "").strip().lower() in OFF_WORDS:
        return None
    project, branch = project_and_branch(cwd)
    parts = [project, branch or "", short_host() if host is None else host, agent or "", session or ""]
    line = SEPARATOR.join(p for p in (clean(part) for part in parts) if p)
    return clean(line, LINE_MAX) or None


def given_source(value: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """A caller's own source (``notify_*(source=…)``), made inert; None when MCP_PUSH_SOURCE=off."""
    env = os.environ if env is None else env
    if value is None or env.get("MCP_PUSH_SOURCE", "").strip().lower() in OFF_WORDS:
        return None
    return clean(value, LINE_MAX) or None


def short_run_id(run_id: str, limit: int = 16) -> str:
    """A run id short enough for a title: ``run-20261202-031400-a1b2c3`` → ``run-…a1b2c3``; other
    long ids keep their head and tail. The body carries the full id."""
    if len(run_id) <= limit:
        return run_id
    if run_id.startswith("run-") and run_id.count("-") >= 3:
        return "run-…" + run_id.rsplit("-", 1)[1][-8:]
    head = max(4, limit - 8)
    return run_id[:head] + "…" + run_id[-6:]
