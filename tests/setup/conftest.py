"""Temporary HOMEs holding what real users have: comments, other servers, other hooks, tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.conftest import server_env

SECRET = "ghp_0123456789abcdefSECRET"

CLAUDE_JSON = {
    "numStartups": 42,
    "theme": "dark",
    "oauthAccount": {"emailAddress": "dev@example.com"},
    "projects": {"/home/dev/app": {"allowedTools": [], "mcpServers": {}}},
    "mcpServers": {
        "github": {"type": "stdio", "command": "npx", "args": ["-y", "gh-mcp"], "env": {"GITHUB_TOKEN": SECRET}}
    },
}
CLAUDE_SETTINGS = {
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": []},
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "afplay /System/Library/Sounds/Glass.aiff"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/guard.sh", "timeout": 5}]}],
    },
    "model": "opus",
}
CODEX_TOML = """\
# Codex settings, kept by hand
model = "gpt-5-codex"  # the default model
approval_policy = "on-request"

[features]
hooks = true

# servers I use every day
[mcp_servers.github]
command = "npx"
args = ["-y", "gh-mcp"]
env = { GITHUB_TOKEN = "SECRET" }

[profiles.fast]
model = "gpt-5-mini"
""".replace("SECRET", SECRET)
CODEX_HOOKS = {
    "hooks": {
        "SessionStart": [
            {"matcher": "startup", "hooks": [{"type": "command", "command": "~/bin/ctx.sh", "timeout": 5}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "python3 ~/bin/log_turn.py", "timeout": 30}]}],
    }
}
GEMINI_SETTINGS = {
    "theme": "GitHub",
    "mcpServers": {"github": {"command": "npx", "args": ["-y", "gh-mcp"], "env": {"GITHUB_TOKEN": SECRET}}},
    "hooks": {
        "BeforeTool": [
            {"matcher": "write_file", "hooks": [{"name": "lint", "type": "command", "command": "~/bin/lint.sh"}]}
        ]
    },
}


def write_json(path: Path, data: object, indent: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """A HOME where Claude Code, Codex and Gemini CLI are already configured, by hand and by other tools."""
    home = tmp_path / "user"
    write_json(home / ".claude.json", CLAUDE_JSON)
    write_json(home / ".claude" / "settings.json", CLAUDE_SETTINGS, indent=4)
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(CODEX_TOML)
    write_json(home / ".codex" / "hooks.json", CODEX_HOOKS)
    write_json(home / ".gemini" / "settings.json", GEMINI_SETTINGS)
    return home


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except setup's backups and mcp-push's own home."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".mcp-push-backup" not in p.name and "mcp-push-home" not in p.parts
    }


def backups(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if ".mcp-push-backup" in p.name)


@pytest.fixture
def exe() -> Path:
    """The mcp-push this venv installed: what setup writes when run as `python -m mcp_push`."""
    path = Path(sys.executable).parent / "mcp-push"
    assert path.is_file(), "install the project (pip install -e .) so the mcp-push script exists"
    return path


@pytest.fixture
def setup_cli(user_home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m mcp_push setup ...` with HOME at ``user_home`` and a project directory as cwd."""
    project = tmp_path / "project"
    project.mkdir()

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full = server_env(tmp_path / "mcp-push-home", {"HOME": str(user_home), **(env or {})})
        for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
            full.pop(name, None)
        full.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", "setup", *args],
            cwd=cwd or project,
            env=full,
            capture_output=True,
            text=True,
            timeout=60,
        )

    run.project = project  # type: ignore[attr-defined]
    return run


def fake_mcp_push(directory: Path) -> Path:
    """An executable named mcp-push elsewhere: an older installation."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mcp-push"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path
