"""``mcp-push setup --check``: what is installed where, what is stale or broken, and a test notification.

An entry is *broken* when the mcp-push it runs is not an executable file, *stale* when it runs
another mcp-push than this one (an older install), and *missing* when setup would add it. The
test notification is ``mcp-push test``'s: one per configured channel, delivered or why not.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from mcp_push.config import Settings
from mcp_push.errors import MCPPushError
from mcp_push.setup.target import Entry, Target

EXIT_OK, EXIT_FAILED = 0, 1


def verdict(entry: Entry, exe: Path) -> tuple[str, str]:
    """('ok' | 'stale' | 'broken', why) for one entry."""
    program = entry.program
    path = Path(program).expanduser() if os.path.isabs(os.path.expanduser(program)) else None
    if path is None:
        found = shutil.which(program)
        if found is None:
            return "broken", f"{program!r} is not on PATH; agents will not find it (run setup to write the full path)"
        return "stale", f"{program!r} relies on the agent's PATH (now {found}); run setup to write the full path"
    if not (path.is_file() and os.access(path, os.X_OK)):
        return "broken", f"{path} is not an executable file (uninstalled or moved?): run setup again"
    if os.path.realpath(path) != os.path.realpath(exe):
        return "stale", f"runs {path}, not this mcp-push ({exe}): run setup again to point it here"
    return "ok", str(path)


def report(target: Target, agents: list[str]) -> tuple[list[str], bool]:
    """Lines to print, and whether everything found is healthy."""
    from mcp_push.setup import SCOPES, agent_module

    lines: list[str] = []
    healthy = True
    for name in agents:
        module = agent_module(name)
        for scope in SCOPES:
            scoped = replace(target, scope=scope)
            try:
                entries = module.inspect(scoped)
            except MCPPushError as exc:
                lines.append(f"{module.LABEL} ({scope}): cannot read its files: {exc}")
                healthy = False
                continue
            if not entries:
                lines.append(f"{module.LABEL} ({scope}): not set up")
                continue
            lines.append(f"{module.LABEL} ({scope}):")
            for entry in entries:
                state, why = verdict(entry, target.exe)
                healthy = healthy and state == "ok"
                lines.append(f"  {state:<7}{entry.what} in {entry.path}: {why}")
            have = {e.what for e in entries}
            missing = [w for w in module.expected(scoped) if w not in have]
            if missing:
                hint = f"mcp-push setup {name}" + (" --scope project" if scope == "project" else "")
                lines.append(f"  missing {', '.join(missing)}: `{hint}` adds them")
    return lines, healthy


def run_check(target: Target, agents: list[str], settings: Settings | None, send_test: bool = True) -> int:
    lines, healthy = report(target, agents)
    print(f"this mcp-push: {target.exe}")
    for line in lines:
        print(line)
    if not send_test or settings is None:
        return EXIT_OK if healthy else EXIT_FAILED
    import argparse

    from mcp_push.cli import _cmd_test

    print("test notification:")
    try:
        delivered = _cmd_test(settings, argparse.Namespace(channel_ids=[], wait=30.0)) == 0
    except MCPPushError as exc:
        print(f"  not sent: {exc}")
        delivered = False
    return EXIT_OK if healthy and delivered else EXIT_FAILED
