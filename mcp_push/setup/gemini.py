"""Gemini CLI: ``mcpServers`` and ``hooks`` in ``~/.gemini/settings.json`` (or the project's ``.gemini/``).

Hooks are installed for the Gemini CLI events this mcp-push's ``hook`` reads (``hook_events``:
among AfterAgent, BeforeTool, Notification and BeforeAgent); Gemini counts hook timeouts in milliseconds.
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

NAME = "gemini"
LABEL = "Gemini CLI"
SERVER_TIMEOUT_MS = 30_000
# Tools Gemini CLI asks the person about; a BeforeTool hook on every tool would start a process per call.
CONFIRMED_TOOLS = "run_shell_command|write_file|replace"


def paths(target: Target) -> Path:
    base = target.project if target.scope == "project" else target.home
    return base / ".gemini" / "settings.json"


def hook_events() -> tuple[str, ...]:
    """The Gemini CLI events this mcp-push's ``hook`` reads: ``GEMINI_EVENTS`` when it declares them,
    else BeforeTool once it can wait for an answer there (``blocking_for``), else none."""
    import mcp_push.hooks as hooks

    declared = getattr(hooks, "GEMINI_EVENTS", None)
    if declared is not None:
        return tuple(declared)
    return ("BeforeTool",) if hasattr(hooks, "blocking_for") else ()


def specs(target: Target, events: tuple[str, ...] | None = None) -> list[HookSpec]:
    events = hook_events() if events is None else events
    command = hook_command(target.exe)

    def entry(seconds: int) -> dict[str, Any]:
        return {"name": "mcp-push", "type": "command", "command": command, "timeout": seconds * 1000}

    wanted = [
        HookSpec("AfterAgent", None, entry(HOOK_TIMEOUT)),
        HookSpec("BeforeTool", CONFIRMED_TOOLS, entry(target.blocking_timeout)),
        HookSpec("Notification", None, entry(HOOK_TIMEOUT)),
        HookSpec("BeforeAgent", None, entry(HOOK_TIMEOUT)),  # the person's turn (attention rules)
    ]
    return [s for s in wanted if s.event in events]


def plan(target: Target, *, uninstall: bool = False, events: tuple[str, ...] | None = None) -> Plan:
    settings_file = paths(target)
    result = Plan()
    hooks = specs(target, events)
    desired = {"command": str(target.exe), "args": list(SERVE_ARGS)}

    def change(data: dict[str, Any]) -> None:
        warning = edit_servers(data, desired, uninstall=uninstall, new_only={"timeout": SERVER_TIMEOUT_MS})
        if warning:
            result.notes.append(f"{settings_file}: {warning}")
        if uninstall:
            remove_hooks(data)
        elif hooks:
            install_hooks(data, hooks)

    result.edits.append(json_edit(settings_file, change, drop_if_empty=True))
    every = ("AfterAgent", "BeforeTool", "Notification", "BeforeAgent")
    skipped = [s.event for s in specs(target, every) if s not in hooks]
    if not uninstall and skipped:
        result.notes.append(
            f"Gemini CLI {', '.join(skipped)} not installed: this mcp-push's `hook` does not read "
            f"{'it' if len(skipped) == 1 else 'them'} yet"
        )
    return result


def inspect(target: Target) -> list[Entry]:
    settings_file = paths(target)
    data = parse_json(settings_file, read_text(settings_file))
    return json_entries(settings_file, data, settings_file, data)


def expected(target: Target) -> list[str]:
    return ["MCP server", *(f"hook {s.event}" for s in specs(target))]
