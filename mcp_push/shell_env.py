"""Variables from the user's login shell, for ``serve`` (as the original mcp-push did).

An agent started by a desktop app (Claude Desktop, an IDE launched from the dock) does not see
what ``~/.profile`` or ``~/.zshrc`` exports, so a token set there would be missing. ``serve``
therefore asks the login shell once for its environment and takes from it only the variables
mcp-push reads (every channel's declared settings, a few QingLong names, ``MCP_PUSH_*``). The
process environment and the config file win over it. It is bounded (3 s, then the shell's whole
process group is killed), never fatal, never writes to our stdout (the stdio MCP protocol), and
off with ``MCP_PUSH_SHELL_ENV=0``.

The shell runs our own interpreter to print its environment NUL-separated between two markers,
so multi-line values survive and whatever the rc files print before or after is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from mcp_push.config import Settings, load_settings
from mcp_push.errors import ConfigError

log = logging.getLogger(__name__)

SWITCH = "MCP_PUSH_SHELL_ENV"
TIMEOUT = 3.0
MAX_OUTPUT = 8 * 1024 * 1024
# Read by mcp-push outside the channel modules (QingLong's names).
EXTRA_NAMES = frozenset({"HITOKOTO", "SKIP_PUSH_TITLE"})
BEGIN = b"\0mcp-push-env-begin\0"
END = b"\0mcp-push-env-end\0"
_DUMP = (
    "import os,sys\n"
    "w=sys.stdout.buffer.write\n"
    f"w({BEGIN!r})\n"
    "for k,v in os.environb.items(): w(k+b'='+v+b'\\0')\n"
    f"w({END!r})\n"
    "sys.stdout.flush()\n"
)
OFF_VALUES = frozenset({"0", "false", "no", "off"})


def enabled(env: Mapping[str, str]) -> bool:
    return env.get(SWITCH, "1").strip().lower() not in OFF_VALUES


def wanted_names() -> frozenset[str]:
    """The variable names channels declare (from the registry) with their numbered forms for further
    accounts (TG_BOT_TOKEN_2 … _9), plus QingLong's extras."""
    from mcp_push.channels import declared_variables

    return declared_variables() | EXTRA_NAMES


def is_wanted(name: str, names: frozenset[str]) -> bool:
    return name in names or (name.startswith("MCP_PUSH_") and name != SWITCH)


def login_shell(environ: Mapping[str, str]) -> str:
    """``$SHELL``, else the user's shell from the password database, else /bin/sh."""
    shell = environ.get("SHELL", "").strip()
    if shell and os.path.isabs(shell) and os.access(shell, os.X_OK):
        return shell
    with contextlib.suppress(ImportError, KeyError, OSError):
        import pwd  # POSIX only

        entry = pwd.getpwuid(os.getuid()).pw_shell
        if entry and os.access(entry, os.X_OK):
            return entry
    return "/bin/sh"


def shell_command(shell: str) -> list[str]:
    """How to run our dump inside a login shell. zsh users export in ~/.zshrc, read only when
    interactive (the original used ``zsh -lic`` too); csh takes ``-l`` only alone."""
    script = f"exec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(_DUMP)}"
    name = Path(shell).name
    if name in ("csh", "tcsh"):
        return [shell, "-c", script]
    if name == "zsh":
        return [shell, "-lic", script]
    return [shell, "-lc", script]


def _start_dir(environ: Mapping[str, str]) -> str:
    """The home directory, never the current one (which may be a stranger's repository)."""
    home = environ.get("HOME", "")
    return home if home and os.path.isdir(home) else "/"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """The shell leads its own session: end it and whatever it started, never anything else."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)


def _complete(out: bytearray, scanned: int) -> bool:
    """Whether the end marker has arrived after the begin marker (looking only at new bytes)."""
    start = out.find(BEGIN)
    return start >= 0 and out.find(END, max(start + len(BEGIN), scanned - len(END))) >= 0


def _collect(proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """The shell's stdout up to the end marker, EOF or too much output; None at the deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not selector.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return bytes(out)
            scanned = len(out)
            out += chunk
            if _complete(out, scanned) or len(out) > MAX_OUTPUT:
                return bytes(out)


def parse_dump(out: bytes) -> dict[str, str] | None:
    """The variables between the markers, or None if the dump is not complete."""
    start = out.find(BEGIN)
    if start < 0:
        return None
    end = out.find(END, start + len(BEGIN))
    if end < 0:
        return None
    found: dict[str, str] = {}
    for entry in out[start + len(BEGIN) : end].split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if not sep or not key:
            continue
        try:
            found[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not text: no setting of ours is
    return found


def read_login_env(environ: Mapping[str, str], *, timeout: float = TIMEOUT) -> dict[str, str]:
    """The wanted variables the login shell exports; {} (and one log line) on any failure."""
    if os.name != "posix":
        log.debug("login-shell variables are read on POSIX systems only")
        return {}
    shell = login_shell(environ)
    try:
        proc = subprocess.Popen(
            shell_command(shell),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(environ),
            cwd=_start_dir(environ),
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        log.warning("could not start the login shell %s to read its variables (%s); continuing without", shell, exc)
        return {}
    try:
        out = _collect(proc, time.monotonic() + timeout)
    except OSError as exc:
        log.debug("reading the login shell's output failed: %s", exc)
        out = None
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    if out is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
    if out is None or proc.poll() is None:
        _kill_group(proc)  # out of time: the shell and all it started in its session go
    found = parse_dump(out) if out is not None else None
    if found is None:
        why = f"no answer within {timeout:g}s" if out is None else f"exit status {proc.returncode}"
        log.warning(
            "could not read variables from the login shell %s (%s); continuing without them "
            "(set %s=0 to skip this step)",
            shell,
            why,
            SWITCH,
        )
        return {}
    names = wanted_names()
    return {key: value for key, value in found.items() if is_wanted(key, names)}


def with_login_shell_env(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """``serve``'s settings with the login shell's variables underneath the environment and config file.

    What the login shell supplied is also put into ``os.environ`` (only where neither the
    environment nor the config file set it), so a drain worker started later sees the same values.
    """
    base = dict(os.environ if environ is None else environ)
    if not enabled(settings.env):
        log.debug("%s is off: not reading the login shell's variables", SWITCH)
        return settings
    found = read_login_env(base)
    if not found:
        return settings
    try:
        updated = load_settings(base, login_env=found)
    except ConfigError as exc:
        log.warning("ignoring the login shell's variables: with them, %s", exc)
        return settings
    supplied = sorted(k for k, v in found.items() if k not in base and updated.env.get(k) == v)
    log.debug("took %s from the login shell", ", ".join(supplied) or "nothing")
    if environ is None:
        for key in supplied:
            os.environ[key] = found[key]
    return updated
