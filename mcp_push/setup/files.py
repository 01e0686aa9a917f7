"""What every agent's setup shares: planned file edits, their diffs and backups, and how our entries look.

An edit is planned in memory (the file's text before and after) and only then shown (``--dry-run``
prints a unified diff) or applied: the original is copied next to it first, the new text is
written to a temporary file and renamed over the original, and a file that changed meanwhile (an
agent rewrites its own config while it runs) is read and planned again instead of overwritten.

Our entries are recognised by what they run, never by their position: a command whose program is
an ``mcp-push`` executable (any path: an old install's path is ours too, and stale) followed by
``hook`` or ``serve``. Whatever else a file holds is parsed and written back as it was.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_push.errors import ConfigError

PROGRAM = "mcp-push"
SERVER_NAME = "mcp-push"
SERVE_ARGS = ("serve",)
BACKUP_SUFFIX = ".mcp-push-backup"
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|passwd|api[_-]?key|auth|credential|bearer|cookie|session)")
_JSON_PAIR = re.compile(r'(?P<head>"(?P<key>(?:[^"\\]|\\.)*)"\s*:\s*)(?P<quote>")(?:[^"\\]|\\.)*"')
_TOML_PAIR = re.compile(r"""(?P<head>(?P<key>[A-Za-z0-9_-]+)\s*=\s*)(?P<quote>["'])(?:(?!(?P=quote)).)*(?P=quote)""")


# --- the mcp-push this setup writes -------------------------------------------------------------


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _ephemeral(path: Path) -> bool:
    """A throwaway environment that is gone after this run: ``uvx``'s cache (``archive-v0``,
    ``builds-v0`` under uv's cache directory) or ``pipx run``'s."""
    parts = set(path.parts)
    if parts & {"archive-v0", "builds-v0"}:
        return True
    text = str(path)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    roots = [
        os.environ.get("UV_CACHE_DIR", ""),
        os.path.join(cache, "uv"),
        str(Path.home() / ".local" / "pipx" / ".cache"),
    ]
    return any(root and text.startswith(root.rstrip("/") + "/") for root in roots)


def installed_command(argv0: str | None = None) -> Path:
    """The absolute path of the ``mcp-push`` that agents should start.

    The running one comes first: ``sys.argv[0]`` when it is the ``mcp-push`` script (kept as the
    user invoked it, symbolic link and all: pipx's and uv's links in ~/.local/bin survive upgrades,
    the venv paths behind them may not), else the script beside this interpreter (``python -m
    mcp_push setup`` in a venv). ``shutil.which`` is only the fallback, or the choice when the
    running copy lives in a throwaway environment (``uvx mcp-push setup``), because the first
    ``mcp-push`` on PATH may be another installation than the one being set up.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    candidates: list[Path] = []
    if argv0 and Path(argv0).name.startswith(PROGRAM):
        candidates.append(Path(os.path.abspath(argv0)))
    candidates.append(Path(sys.executable).parent / PROGRAM)
    for path in candidates:
        if _executable(path) and not _ephemeral(path):
            return path
    found = shutil.which(PROGRAM)
    if found and not _ephemeral(Path(found)):
        return Path(os.path.abspath(found))
    raise ConfigError(
        "cannot find an installed mcp-push to register (this one runs from a temporary environment, and none is "
        "on PATH): install it first (`uv tool install mcp-push`, `pipx install mcp-push`, or a venv), then run "
        "that one's `mcp-push setup`, or give the path with --command"
    )


def hook_command(exe: Path) -> str:
    """The hook line agents run through a shell."""
    return f"{shlex.quote(str(exe))} hook"


def _argv(command: Any, args: Any = None) -> list[str]:
    if isinstance(command, list):
        return [str(a) for a in command]
    if not isinstance(command, str):
        return []
    if args is not None:
        return [command, *(str(a) for a in args)] if isinstance(args, list) else [command]
    try:
        return shlex.split(command)
    except ValueError:
        return []


def is_program(word: str) -> bool:
    name = Path(word).name.lower()
    return name in (PROGRAM, f"{PROGRAM}.exe")


def is_our_hook(command: Any) -> bool:
    """A hook command (a shell line or an argv list) that runs ``mcp-push hook``."""
    argv = _argv(command)
    return len(argv) >= 2 and is_program(argv[0]) and argv[1] == "hook"


def is_our_server(command: Any, args: Any) -> bool:
    """An MCP server entry that starts ``mcp-push`` as a server (``serve``, the original's flags, or bare)."""
    argv = _argv(command, args if args is not None else [])
    return bool(argv) and is_program(argv[0]) and (len(argv) == 1 or argv[1] in ("serve", "--transport"))


def program_of(command: Any, args: Any = None) -> str | None:
    argv = _argv(command, args)
    return argv[0] if argv else None


# --- planned edits ------------------------------------------------------------------------------


@dataclass
class Edit:
    """One file's text before and after (None: the file is absent, or is to be removed)."""

    path: Path
    before: str | None
    after: str | None
    replan: Callable[[str | None], str | None] | None = field(default=None, repr=False)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff, with values of secret-looking keys masked (other servers' tokens stay private)."""
        old = mask_secrets(self.before or "").splitlines(keepends=True)
        new = mask_secrets(self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path) if self.after is not None else "/dev/null",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def mask_secrets(text: str) -> str:
    """Mask the string value of every JSON or TOML key that looks like a credential, wherever it sits."""

    def hide(match: re.Match[str]) -> str:
        if not _SECRET_KEY.search(match.group("key")):
            return match.group(0)
        quote = match.group("quote")
        return f"{match.group('head')}{quote}***{quote}"

    text = _JSON_PAIR.sub(hide, text)
    return _TOML_PAIR.sub(hide, text)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; fix or move it, then run setup again") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror or exc})") from None


def backup_path(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}-{stamp}-{n}")
    return candidate


def apply(edit: Edit, stamp: str | None = None) -> Path | None:
    """Write ``edit`` (backing up the original first); return the backup's path (None: a new file)."""
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = edit.path.resolve() if edit.path.is_symlink() else edit.path  # keep a dotfile manager's link
    for _ in range(5):
        current = read_text(target)
        if current != edit.before:  # the agent rewrote its file since we read it: plan again on what is there
            if edit.replan is None:
                raise ConfigError(f"{edit.path} changed while setup ran; run setup again")
            edit.before, edit.after = current, edit.replan(current)
            if not edit.changed:
                return None
            continue
        backup = None
        if current is not None:
            backup = backup_path(target, stamp)
            shutil.copy2(target, backup)
        if edit.after is None:
            target.unlink()
        else:
            _write_atomic(target, edit.after)
        return backup
    raise ConfigError(f"{edit.path} keeps changing while setup runs; close the agent and run setup again")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- JSON files ---------------------------------------------------------------------------------


def parse_json(path: Path, text: str | None) -> dict[str, Any]:
    """The file's object ({} when absent or empty), or a ConfigError that says where it is broken."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if re.search(r"(^|\s)//|/\*", text):
            hint = (
                " It seems to hold comments, which setup cannot keep when it rewrites the file: add the entries "
                "by hand (docs/agents.md has them) or remove the comments"
            )
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); nothing was changed.{hint}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} holds a JSON {type(data).__name__}, not an object; nothing was changed")
    return data


def dump_json(data: dict[str, Any], like: str | None) -> str | None:
    """``data`` as JSON indented like the original (2 spaces for a new file); None for an empty new object."""
    if not data and like is None:
        return None
    indent: int | str = 2
    if like:
        match = re.search(r"\n([ \t]+)\S", like)
        if match:
            found = match.group(1)
            indent = len(found) if set(found) == {" "} else found
    if like and "\n" not in like.strip():
        text = json.dumps(data, ensure_ascii=False, separators=_separators(like))
    else:
        text = json.dumps(data, indent=indent, ensure_ascii=False)
    return text + "\n" if like is None or like.endswith("\n") else text


def _separators(like: str) -> tuple[str, str]:
    """A one-line file keeps its spacing: ``{"a":1}`` or ``{"a": 1, "b": 2}``."""
    return (", " if ", " in like else ",", ": " if '": ' in like else ":")


def json_edit(path: Path, change: Callable[[dict[str, Any]], None], *, drop_if_empty: bool = False) -> Edit:
    """Plan a change to a JSON file; with ``drop_if_empty`` a file left as ``{}`` is removed."""

    def plan(text: str | None) -> str | None:
        data = parse_json(path, text)
        before = json.dumps(data, sort_keys=False)
        change(data)
        if json.dumps(data, sort_keys=False) == before:
            return text  # nothing to do: keep the bytes as they are
        if drop_if_empty and not data:
            return None
        return dump_json(data, text)

    before = read_text(path)
    return Edit(path, before, plan(before), replan=plan)


# --- hook lists (Claude Code, Codex hooks.json and Gemini CLI share one shape) ------------------


@dataclass(frozen=True)
class HookSpec:
    """One event we install: the group's matcher (None: every occurrence) and the hook entry."""

    event: str
    matcher: str | None
    entry: dict[str, Any]


def _ours(entry: Any) -> bool:
    return isinstance(entry, dict) and is_our_hook(entry.get("command"))


def _group_entries(group: Any) -> list[Any]:
    hooks = group.get("hooks") if isinstance(group, dict) else None
    return hooks if isinstance(hooks, list) else []


def install_hooks(root: dict[str, Any], specs: list[HookSpec]) -> None:
    """Make ``root["hooks"]`` hold exactly one group of ours per spec, leaving every other entry alone."""
    hooks = root.get("hooks")
    if hooks is None:
        hooks = root["hooks"] = {}
    if not isinstance(hooks, dict):
        raise ConfigError('"hooks" is not an object; fix it by hand, then run setup again')
    for spec in specs:
        groups = hooks.setdefault(spec.event, [])
        if not isinstance(groups, list):
            raise ConfigError(f'"hooks.{spec.event}" is not a list; fix it by hand, then run setup again')
        want = {"matcher": spec.matcher, "hooks": [spec.entry]} if spec.matcher is not None else {"hooks": [spec.entry]}
        placed = False
        for group in list(groups):
            entries = _group_entries(group)
            if not any(_ours(e) for e in entries):
                continue
            if not placed and all(_ours(e) for e in entries):
                if group != want:
                    groups[groups.index(group)] = want  # in place: an old path becomes the new one
                placed = True
                continue
            group["hooks"] = [e for e in entries if not _ours(e)]  # ours, mixed into someone's group
            if not group["hooks"]:
                groups.remove(group)
        if not placed:
            groups.append(want)


def remove_hooks(root: dict[str, Any], events: list[str] | None = None) -> None:
    """Remove every entry of ours (any path) and the groups and events left empty by that."""
    hooks = root.get("hooks")
    if not isinstance(hooks, dict):
        return
    for event in list(hooks):
        if events is not None and event not in events:
            continue
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept = []
        touched = False
        for group in groups:
            entries = _group_entries(group)
            if any(_ours(e) for e in entries):
                touched = True
                rest = [e for e in entries if not _ours(e)]
                if rest:
                    kept.append({**group, "hooks": rest})
                continue
            kept.append(group)
        if touched:
            if kept:
                hooks[event] = kept
            else:
                del hooks[event]
    if not hooks and "hooks" in root:
        del root["hooks"]


def hook_commands(root: dict[str, Any]) -> dict[str, list[str]]:
    """Our hook commands per event, as found (for --check)."""
    found: dict[str, list[str]] = {}
    hooks = root.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            for entry in _group_entries(group):
                if _ours(entry):
                    found.setdefault(event, []).append(entry["command"])
    return found


def set_server(servers: dict[str, Any], desired: dict[str, Any], new_only: dict[str, Any] | None = None) -> str | None:
    """Put our server entry under SERVER_NAME; keep keys the user added to it (``env``…).
    ``new_only`` goes into a new entry only (a default the user may have changed since).

    Returns a warning when the name is taken by something that is not mcp-push (left alone).
    """
    current = servers.get(SERVER_NAME)
    if isinstance(current, dict) and not is_our_server(current.get("command"), current.get("args")):
        shown = " ".join(_argv(current.get("command"), current.get("args"))) or current.get("url") or "something else"
        return (
            f'an MCP server named "{SERVER_NAME}" already runs {shown!r}, not an installed mcp-push: left as it is '
            "(remove it and run setup again to replace it)"
        )
    if isinstance(current, dict):
        for key, value in desired.items():
            if current.get(key) != value:
                current[key] = value
    else:
        servers[SERVER_NAME] = {**desired, **(new_only or {})}
    return None


def drop_server(servers: dict[str, Any]) -> None:
    current = servers.get(SERVER_NAME)
    if isinstance(current, dict) and is_our_server(current.get("command"), current.get("args")):
        del servers[SERVER_NAME]


def edit_servers(
    data: dict[str, Any], desired: dict[str, Any], *, uninstall: bool, new_only: dict[str, Any] | None = None
) -> str | None:
    """Set (or with ``uninstall`` drop) our entry in a JSON file's ``mcpServers`` (Claude Code, Gemini CLI);
    a table is removed only when dropping ours emptied it. Returns ``set_server``'s warning."""
    table = data.get("mcpServers")
    if uninstall:
        if isinstance(table, dict) and SERVER_NAME in table:
            drop_server(table)
            if not table:  # we emptied it (setup created it, or ours was the only one)
                del data["mcpServers"]
        return None
    if table is None:
        table = data["mcpServers"] = {}
    return set_server(table, desired, new_only)
