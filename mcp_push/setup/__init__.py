"""``mcp-push setup``: register the MCP server and the hooks in each agent's own files, or undo it.

One module per agent (``claude_code``, ``codex``, ``gemini``) plans its edits in memory; ``files``
shows them (``--dry-run``: a unified diff, nothing written) or applies them with a backup of every
file it changes. A second run changes nothing. ``check`` (``--check``) reports what is installed
where and sends a test notification. Loaded only by the ``setup`` command.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import ModuleType

from mcp_push.config import Settings
from mcp_push.errors import InputError
from mcp_push.setup.files import apply, installed_command
from mcp_push.setup.target import Plan, Target

AGENTS = ("claude-code", "codex", "gemini")
SCOPES = ("user", "project")


def agent_module(name: str) -> ModuleType:
    if name == "claude-code":
        from mcp_push.setup import claude_code as module
    elif name == "codex":
        from mcp_push.setup import codex as module
    elif name == "gemini":
        from mcp_push.setup import gemini as module
    else:
        raise InputError(f"unknown agent {name!r}: choose one of {', '.join(AGENTS)}")
    return module


def make_target(scope: str, command: str | None = None) -> Target:
    exe = Path(os.path.abspath(command)) if command else installed_command()
    if command and not (exe.is_file() and os.access(exe, os.X_OK)):
        raise InputError(f"--command {command}: not an executable file")
    return Target(scope=scope, home=Path.home(), project=Path.cwd(), exe=exe, env=dict(os.environ))


def run(
    agent: str | None,
    *,
    scope: str = "user",
    dry_run: bool = False,
    uninstall: bool = False,
    check: bool = False,
    command: str | None = None,
    settings: Settings | None = None,
    send_test: bool = True,
) -> int:
    """The ``setup`` command; returns its exit code."""
    if check:
        if uninstall or dry_run:
            raise InputError("--check only reads: it goes with neither --uninstall nor --dry-run")
        from mcp_push.setup.check import run_check

        return run_check(make_target(scope, command), [agent] if agent else list(AGENTS), settings, send_test)
    if agent is None:
        raise InputError(f"name the agent to set up ({', '.join(AGENTS)}), or use --check")
    module = agent_module(agent)
    target = make_target(scope, command)
    plan: Plan = module.plan(target, uninstall=uninstall)
    changed = [e for e in plan.edits if e.changed]
    verb = "remove" if uninstall else "set up"
    if dry_run:
        for edit in changed:
            sys.stdout.write(edit.diff())
        if not changed:
            print(f"{module.LABEL} ({scope}): nothing to change")
        for note in plan.notes:
            print(f"note: {note}")
        return 0
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for edit in plan.edits:
        if not edit.changed:
            print(f"unchanged {edit.path}")
            continue
        backup = apply(edit, stamp)
        if not edit.changed:  # the file changed meanwhile to what we wanted
            print(f"unchanged {edit.path}")
            continue
        action = "removed" if edit.after is None else "created" if edit.before is None else "updated"
        print(f"{action} {edit.path}" + (f" (backup: {backup})" if backup else ""))
    for note in plan.notes:
        print(f"note: {note}")
    if not uninstall:
        print(
            f"{module.LABEL} ({scope}) runs {target.exe}; restart it to pick the changes up "
            "(`mcp-push setup --check` tests the wiring)"
        )
    elif not changed:
        print(f"{module.LABEL} ({scope}): nothing of mcp-push's to {verb}")
    return 0
