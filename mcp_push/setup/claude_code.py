"""Claude Code: the MCP server in ``~/.claude.json`` (or the project's ``.mcp.json``), hooks in ``settings.json``.

User scope: ``mcpServers`` at the top of ``~/.claude.json`` (what ``claude mcp add --scope user``
writes) and ``~/.claude/settings.json``; with ``CLAUDE_CONFIG_DIR`` set, both live in that
directory. Project scope: ``.mcp.json`` and ``.claude/settings.json`` in the current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_push.setup.files import (
    SERVE_ARGS,
    HookSpec,
    edit_servers,
    hook_command,
    install_hooks,
    json_edit,
    parse_json,
    read_text,
    remove_hooks,
)
from mcp_push.setup.target import HOOK_TIMEOUT, Entry, Plan, Target, json_entries

NAME = "claude-code"
LABEL = "Claude Code"


def paths(target: Target) -> tuple[Path, Path]:
    """(the file with ``mcpServers``, the settings file with ``hooks``)."""
    if target.scope == "project":
        return target.project / ".mcp.json", target.project / ".claude" / "settings.json"
    config_dir = target.env.get("CLAUDE_CONFIG_DIR")
    if config_dir:
        base = Path(config_dir).expanduser()
        return base / ".claude.json", base / "settings.json"
    return target.home / ".claude.json", target.home / ".claude" / "settings.json"


def hook_events() -> tuple[str, ...]:
    """The Claude Code events this mcp-push's ``hook`` reads: its notification events, and
    PreToolUse (AskUserQuestion) once it can wait for an answer (``blocking_for``)."""
    import mcp_push.hooks as hooks

    events = tuple(hooks.CLAUDE_EVENTS)
    if hasattr(hooks, "blocking_for") and "PreToolUse" not in events:
        events += ("PreToolUse",)
    return events


def specs(target: Target, events: tuple[str, ...] | None = None) -> list[HookSpec]:
    events = hook_events() if events is None else events
    command = hook_command(target.exe)

    def entry(timeout: int) -> dict[str, Any]:
        return {"type": "command", "command": command, "timeout": timeout}

    wanted = [
        HookSpec("Stop", None, entry(HOOK_TIMEOUT)),
        # permission_prompt is left out: PermissionRequest below says the same (and can wait for an answer).
        HookSpec("Notification", "idle_prompt|elicitation_dialog", entry(HOOK_TIMEOUT)),
        HookSpec("PermissionRequest", None, entry(target.blocking_timeout)),
        HookSpec("SessionEnd", None, entry(HOOK_TIMEOUT)),
        # The person's turn: MCP_PUSH_STOP_DELAY drops a held Stop, MCP_PUSH_MIN_TURN_SECONDS measures turns.
        HookSpec("UserPromptSubmit", None, entry(HOOK_TIMEOUT)),
        HookSpec("PreToolUse", "AskUserQuestion", entry(target.blocking_timeout)),
    ]
    return [s for s in wanted if s.event in events]


def plan(target: Target, *, uninstall: bool = False, events: tuple[str, ...] | None = None) -> Plan:
    servers_file, settings_file = paths(target)
    result = Plan()
    desired = {"type": "stdio", "command": str(target.exe), "args": list(SERVE_ARGS)}
    project = target.scope == "project"

    def servers(data: dict[str, Any]) -> None:
        warning = edit_servers(data, desired, uninstall=uninstall)
        if warning:
            result.notes.append(f"{servers_file}: {warning}")

    hooks = specs(target, events)

    def settings(data: dict[str, Any]) -> None:
        if uninstall:
            remove_hooks(data)
        else:
            install_hooks(data, hooks)

    # ~/.claude.json is Claude Code's own state file: never removed, even if only our entry was in it.
    result.edits.append(json_edit(servers_file, servers, drop_if_empty=project))
    result.edits.append(json_edit(settings_file, settings, drop_if_empty=True))
    if not uninstall and "PreToolUse" not in {s.event for s in hooks}:
        result.notes.append("PreToolUse (AskUserQuestion) is not installed: this mcp-push's `hook` does not read it")
    return result


def inspect(target: Target) -> list[Entry]:
    servers_file, settings_file = paths(target)
    servers = parse_json(servers_file, read_text(servers_file))
    return json_entries(servers_file, servers, settings_file, parse_json(settings_file, read_text(settings_file)))


def expected(target: Target) -> list[str]:
    return ["MCP server", *(f"hook {s.event}" for s in specs(target))]
