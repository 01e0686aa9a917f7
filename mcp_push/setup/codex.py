"""Codex: ``[mcp_servers.mcp-push]`` and ``notify`` in ``config.toml``, hooks in ``hooks.json``.

User scope: ``~/.codex`` (or ``CODEX_HOME``); project scope: ``.codex/`` in the current
directory. config.toml is edited with tomlkit, which keeps comments, order and formatting of
everything it does not touch. ``notify`` is one program: one that is not mcp-push is left in
place, and a ``Stop`` hook in hooks.json reports turn ends instead (with both, every turn's end
would be pushed twice).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_push.errors import ConfigError
from mcp_push.setup.files import (
    SERVE_ARGS,
    SERVER_NAME,
    Edit,
    HookSpec,
    hook_command,
    hook_commands,
    install_hooks,
    is_our_hook,
    is_our_server,
    json_edit,
    parse_json,
    program_of,
    read_text,
    remove_hooks,
)
from mcp_push.setup.target import HOOK_TIMEOUT, Entry, Plan, Target

NAME = "codex"
LABEL = "Codex"
MARK = "added by `mcp-push setup codex`; `mcp-push setup codex --uninstall` removes it"


def paths(target: Target) -> tuple[Path, Path]:
    """(config.toml, hooks.json)."""
    if target.scope == "project":
        base = target.project / ".codex"
    else:
        base = Path(target.env["CODEX_HOME"]).expanduser() if target.env.get("CODEX_HOME") else target.home / ".codex"
    return base / "config.toml", base / "hooks.json"


def specs(target: Target, *, stop: bool = False) -> list[HookSpec]:
    """PermissionRequest and UserPromptSubmit (the person's turn, for the attention rules) always;
    Stop only when ``notify`` is another program's (else it would say every turn's end twice:
    ``notify`` already does)."""
    command = hook_command(target.exe)
    wanted = [
        HookSpec(
            "PermissionRequest", None, {"type": "command", "command": command, "timeout": target.blocking_timeout}
        ),
        HookSpec("UserPromptSubmit", None, {"type": "command", "command": command, "timeout": HOOK_TIMEOUT}),
    ]
    if stop:
        wanted.append(HookSpec("Stop", None, {"type": "command", "command": command, "timeout": HOOK_TIMEOUT}))
    return wanted


def notify_taken(path: Path, text: str | None) -> bool:
    """``notify`` is set to a program that is not mcp-push (Codex runs only one)."""
    notify = _parse(path, text).get("notify")
    return notify is not None and not is_our_hook(list(notify))


def _parse(path: Path, text: str | None) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text or "")
    except ParseError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); nothing was changed") from None


def _server_table(doc: Any) -> Any:
    servers = doc.get("mcp_servers")
    return servers.get(SERVER_NAME) if hasattr(servers, "get") else None


def _config_text(path: Path, target: Target, text: str | None, uninstall: bool, notes: list[str]) -> str | None:
    import tomlkit

    doc = _parse(path, text)
    before = tomlkit.dumps(doc)
    servers = doc.get("mcp_servers")
    current = _server_table(doc)
    notify = doc.get("notify")
    if uninstall:
        if current is not None and is_our_server(current.get("command"), current.get("args")):
            del servers[SERVER_NAME]
            if not servers:
                del doc["mcp_servers"]
        if notify is not None and is_our_hook(list(notify)):
            del doc["notify"]
        out = tomlkit.dumps(doc)
        if out == before:
            return text
        out = out.rstrip("\n") + "\n" if out.strip() else ""
        return out or None
    exe = str(target.exe)
    if current is not None and not is_our_server(current.get("command"), current.get("args")):
        notes.append(f"{path}: [mcp_servers.{SERVER_NAME}] runs something else than mcp-push: left as it is")
    elif current is not None:
        if current.get("command") != exe:
            current["command"] = exe
        if list(current.get("args") or []) != list(SERVE_ARGS):
            current["args"] = list(SERVE_ARGS)
    else:
        table = tomlkit.table()
        table.add(tomlkit.comment(MARK))
        table.add("command", exe)
        table.add("args", list(SERVE_ARGS))
        if servers is None:
            servers = tomlkit.table(is_super_table=True)
            doc.add("mcp_servers", servers)
        servers.add(SERVER_NAME, table)
    want = [exe, "hook"]
    if notify is None:
        _add_top_level(doc, "notify", want)
    elif is_our_hook(list(notify)):
        if list(notify) != want:
            doc["notify"] = want
    else:
        notes.append(
            f"{path}: notify already runs {list(notify)!r}: left as it is (Codex runs one notify program); "
            "a Stop hook in hooks.json reports turn ends instead"
        )
    out = tomlkit.dumps(doc)
    return text if out == before else out


def _add_top_level(doc: Any, key: str, value: Any) -> None:
    """A top-level key must come before the first table, or TOML reads it as that table's: tomlkit puts
    a plain key there; the round trip checks it did."""
    import tomlkit

    doc.add(key, value)
    if tomlkit.parse(tomlkit.dumps(doc)).get(key) != value:
        raise ConfigError(f"could not place {key} at the top of config.toml; add `{key} = {value!r}` by hand")


def plan(target: Target, *, uninstall: bool = False) -> Plan:
    config_file, hooks_file = paths(target)
    result = Plan()

    def config(text: str | None) -> str | None:
        return _config_text(config_file, target, text, uninstall, result.notes)

    before = read_text(config_file)
    result.edits.append(Edit(config_file, before, config(before), replan=config))
    hooks = specs(target, stop=notify_taken(config_file, before))

    def change(data: dict[str, Any]) -> None:
        if uninstall:
            remove_hooks(data)
            return
        if "Stop" not in {h.event for h in hooks}:
            remove_hooks(data, ["Stop"])  # ours from when notify was taken: now notify says it
        install_hooks(data, hooks)

    result.edits.append(json_edit(hooks_file, change, drop_if_empty=True))
    return result


def inspect(target: Target) -> list[Entry]:
    config_file, hooks_file = paths(target)
    found: list[Entry] = []
    doc = _parse(config_file, read_text(config_file))
    server = _server_table(doc)
    if server is not None and hasattr(server, "get"):
        found.append(Entry(config_file, "MCP server", program_of(server.get("command"), server.get("args")) or ""))
    notify = doc.get("notify")
    if notify is not None and is_our_hook(list(notify)):
        found.append(Entry(config_file, "notify", str(next(iter(notify)))))
    for event, commands in hook_commands(parse_json(hooks_file, read_text(hooks_file))).items():
        found.extend(Entry(hooks_file, f"hook {event}", program_of(c) or "") for c in commands)
    return found


def expected(target: Target) -> list[str]:
    config_file, _ = paths(target)
    taken = notify_taken(config_file, read_text(config_file))
    return ["MCP server", *([] if taken else ["notify"]), *(f"hook {s.event}" for s in specs(target, stop=taken))]
