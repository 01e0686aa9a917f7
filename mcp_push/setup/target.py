"""Where one setup run writes, and what it found: shared by the agent modules and ``--check``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_push.setup.files import SERVER_NAME, Edit, hook_commands, program_of

DEFAULT_ASK_TIMEOUT = 120.0
HOOK_TIMEOUT = 10  # seconds: a non-blocking `mcp-push hook` returns in well under one


@dataclass(frozen=True)
class Target:
    """One agent's files for one scope: ``user`` (under ``home``) or ``project`` (under ``project``)."""

    scope: str
    home: Path
    project: Path
    exe: Path
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocking_timeout(self) -> int:
        """Seconds an agent should give a hook that waits for the person's answer (ask timeout + margin)."""
        try:
            ask = float(self.env.get("MCP_PUSH_ASK_TIMEOUT", "") or DEFAULT_ASK_TIMEOUT)
        except ValueError:
            ask = DEFAULT_ASK_TIMEOUT
        return int(ask) + 30


@dataclass
class Plan:
    """The edits of one agent's setup (or uninstall), and what the person should know about it."""

    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    """Something of ours found in an agent's file: what it is, and the mcp-push it runs."""

    path: Path
    what: str  # "MCP server", "hook Stop", "notify"
    program: str


def json_entries(servers_file: Path, servers: dict[str, Any], hooks_file: Path, hooks: dict[str, Any]) -> list[Entry]:
    """Ours in JSON files (Claude Code, Gemini CLI): the ``mcpServers`` entry, then every hook command."""
    found: list[Entry] = []
    table = servers.get("mcpServers")
    server = table.get(SERVER_NAME) if isinstance(table, dict) else None
    if isinstance(server, dict):
        found.append(Entry(servers_file, "MCP server", program_of(server.get("command"), server.get("args")) or ""))
    for event, commands in hook_commands(hooks).items():
        found.extend(Entry(hooks_file, f"hook {event}", program_of(c) or "") for c in commands)
    return found
