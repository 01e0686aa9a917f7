"""The source line: project and branch read from files only (never by running git), inert and short."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcp_push.render.source import given_source, project_and_branch, short_run_id, source_line


def _repo(root: Path, head: str = "ref: refs/heads/feature/render\n") -> Path:
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text(head)
    return root


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the working directory is ever run: starting any process fails these tests."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


def test_branch_from_head_and_project_from_the_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "mcp-push")
    (repo / "src" / "deep").mkdir(parents=True)
    assert project_and_branch(repo / "src" / "deep") == ("mcp-push", "feature/render")


def test_detached_head_gives_a_short_commit(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "proj", "0123456789abcdef0123456789abcdef01234567\n")
    assert project_and_branch(repo) == ("proj", "0123456")


def test_a_git_file_is_followed_to_its_gitdir(tmp_path: Path) -> None:
    gitdir = tmp_path / "main" / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/topic\n")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: ../main/.git/worktrees/wt\n")
    assert project_and_branch(worktree) == ("wt", "topic")


def test_odd_git_files_give_no_branch(tmp_path: Path) -> None:
    big = _repo(tmp_path / "big", "ref: refs/heads/" + "x" * 10_000)
    assert project_and_branch(big) == ("big", None)
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / ".git").write_text("not a gitdir line")
    assert project_and_branch(bogus) == ("bogus", None)
    plain = tmp_path / "plain"
    plain.mkdir()
    assert project_and_branch(plain)[0] == "plain"


def test_the_line_joins_parts_and_is_inert(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "proj", "ref: refs/heads/\x1b[31mred\x07\n")
    line = source_line(cwd=repo, agent="claude-code\n", session="s" * 100, env={}, host="box")
    assert line == "proj · red · box · claude-code · " + "s" * 39 + "…"
    assert source_line(cwd=None, agent="codex", env={}, host="box") == "box · codex"


def test_source_off_removes_it(tmp_path: Path) -> None:
    assert source_line(cwd=tmp_path, env={"MCP_PUSH_SOURCE": "off"}) is None
    assert given_source("mine", {"MCP_PUSH_SOURCE": "OFF"}) is None
    assert given_source("a\x1b]0;title\x07 · b", {}) == "a · b"


def test_short_run_ids() -> None:
    assert short_run_id("build-42") == "build-42"
    assert short_run_id("run-20261202-031400-a1b2c3") == "run-…a1b2c3"
    assert short_run_id("claude:session-7-with-a-long-tail") == "claude:s…g-tail"
    assert len(short_run_id("x" * 128)) <= 16
