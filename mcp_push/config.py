"""Settings: the process environment over a config.sh file, plus mcp-push's own knobs.

Channel variables keep QingLong's names (TG_BOT_TOKEN, DD_BOT_TOKEN...). They are read
from ``$MCP_PUSH_CONFIG``, else ``$MCP_PUSH_HOME/config.sh``; the process environment wins
over the file. A ``config.sh`` in the current directory is never read: a cloned repository
could otherwise point a channel's origin at its author's server and receive the tokens.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from mcp_push.configfile import read_config_text
from mcp_push.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS = ("start", "update", "end", "error")
DEFAULT_PUSHED_EVENTS = frozenset({"end", "error"})


def parse_config_file(text: str, source: str = "config.sh") -> dict[str, str]:
    """The assignments of a config file (``export KEY=value``, several per line, quoted values over
    several lines). Anything else (an ordinary shell script's commands) is skipped with one warning."""
    parsed = read_config_text(text, source)
    if parsed.skipped:
        named = ", ".join(f"line {line}: `{word}`" for line, word in parsed.skipped[:3])
        more = f" and {len(parsed.skipped) - 3} more" if len(parsed.skipped) > 3 else ""
        count = len(parsed.skipped)
        log.warning(
            "%s: skipped %d line%s that %s not a plain top-level `export KEY=value` (%s%s); mcp-push reads the "
            "assignments only and never runs the file, so set what those lines compute as plain values",
            source,
            count,
            "" if count == 1 else "s",
            "is" if count == 1 else "are",
            named,
            more,
        )
    return parsed.values


def read_config(path: Path) -> dict[str, str]:
    """Read and parse a config file, or raise one ConfigError that says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}; fix its permissions or unset MCP_PUSH_CONFIG"
        ) from None
    if b"\0" in data:
        raise ConfigError(
            f"{path} is a binary file, not a shell file of `export KEY=value` lines; "
            "point MCP_PUSH_CONFIG at your config.sh"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8, "
            f"e.g. `iconv -f latin1 -t utf-8 {path} > {path}.utf8` and use that file"
        ) from None
    return parse_config_file(text, str(path))


def _config_file(environ: Mapping[str, str]) -> Path | None:
    """``$MCP_PUSH_CONFIG`` (which must exist), else ``config.sh`` in the home named by ``environ``."""
    explicit = environ.get("MCP_PUSH_CONFIG", "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"MCP_PUSH_CONFIG points to {path}, which is not a readable file")
        return path
    candidate = default_home(environ) / "config.sh"
    return candidate if candidate.is_file() else None


def _number(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number; set it to e.g. {default:g} or unset it") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key}={raw!r} is not a finite number; set it to e.g. {default:g} or unset it")
    if value < minimum:
        raise ConfigError(f"{key}={raw!r} must be at least {minimum:g}")
    return value


def _events(env: Mapping[str, str]) -> frozenset[str]:
    raw = env.get("MCP_PUSH_EVENTS")
    if raw is None or not raw.strip():
        return DEFAULT_PUSHED_EVENTS
    chosen = {part.strip().lower() for part in raw.replace(";", ",").split(",") if part.strip()}
    unknown = chosen - set(EVENTS)
    if unknown:
        raise ConfigError(
            f"MCP_PUSH_EVENTS names unknown events {sorted(unknown)}; use a comma list of {', '.join(EVENTS)}"
        )
    return frozenset(chosen)


@dataclass(frozen=True)
class Settings:
    """Everything a process of mcp-push needs to know, resolved once at start."""

    home: Path
    env: Mapping[str, str] = field(repr=False)
    config_file: Path | None = None
    pushed_events: frozenset[str] = DEFAULT_PUSHED_EVENTS
    http_timeout: float = 10.0
    try_attempts: int = 3
    try_wait_max: float = 30.0
    retry_base: float = 60.0
    retry_max_delay: float = 3600.0
    max_age: float = 86400.0
    lease_seconds: float = 60.0
    sweep_seconds: float = 15.0
    workers: int = 4
    poll_max: float = 0.25
    dedupe_seconds: float = 60.0
    run_budget: int = 30
    retention_days: float = 30.0
    db_url: str | None = field(default=None, repr=False)
    queue_url: str | None = field(default=None, repr=False)
    http_token: str | None = field(default=None, repr=False)

    @property
    def ledger_path(self) -> Path:
        return self.home / "ledger.sqlite3"

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.sqlite3"

    def origin_for(self, channel_id: str) -> str | None:
        """``MCP_PUSH_ORIGIN_<ID>``: where a channel's API really lives (relay, proxy, fake)."""
        value = self.env.get(f"MCP_PUSH_ORIGIN_{channel_id.upper()}", "").strip()
        return value or None


DB_SCHEMES = ("postgresql", "postgres")
QUEUE_SCHEMES = ("redis", "rediss", "postgresql", "postgres")


def _url(env: Mapping[str, str], key: str, schemes: tuple[str, ...]) -> str | None:
    """A backend URL, checked for a scheme we support (the server itself is checked at start)."""
    raw = env.get(key, "").strip()
    if not raw:
        return None
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in schemes:
        shown = raw.split("@")[-1][:60]
        raise ConfigError(
            f"{key} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; got {shown!r}. "
            f"Unset {key} to use the SQLite files in MCP_PUSH_HOME"
        )
    return raw


def default_home(environ: Mapping[str, str]) -> Path:
    raw = environ.get("MCP_PUSH_HOME", "").strip()
    if raw:
        return Path(raw).expanduser()
    return Path(platformdirs.user_data_dir("mcp-push", appauthor=False))


def load_settings(environ: Mapping[str, str] | None = None, *, login_env: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings; raise ConfigError if unusable.

    Layers, lowest first: ``login_env`` (variables from the login shell, ``serve`` only), the
    config file, ``environ`` (the process environment). The config file is looked up with
    ``login_env`` and ``environ``; ``MCP_PUSH_HOME`` is resolved from all three, so a home
    named in the file named by ``MCP_PUSH_CONFIG`` is honoured.
    """
    environ = dict(os.environ if environ is None else environ)
    lowest = dict(login_env or {})
    config_file = _config_file({**lowest, **environ})
    merged = lowest
    if config_file is not None:
        merged.update(read_config(config_file))
    merged.update(environ)
    return Settings(
        home=default_home(merged),
        env=merged,
        config_file=config_file,
        pushed_events=_events(merged),
        http_timeout=_number(merged, "MCP_PUSH_HTTP_TIMEOUT", 10.0, 0.1),
        try_attempts=int(_number(merged, "MCP_PUSH_TRY_ATTEMPTS", 3, 1)),
        try_wait_max=_number(merged, "MCP_PUSH_TRY_WAIT_MAX", 30.0),
        retry_base=_number(merged, "MCP_PUSH_RETRY_BASE", 60.0, 0.01),
        retry_max_delay=_number(merged, "MCP_PUSH_RETRY_MAX_DELAY", 3600.0, 0.01),
        max_age=_number(merged, "MCP_PUSH_MAX_AGE", 86400.0, 1),
        lease_seconds=_number(merged, "MCP_PUSH_LEASE_SECONDS", 60.0, 1),
        sweep_seconds=_number(merged, "MCP_PUSH_SWEEP_SECONDS", 15.0, 0.1),
        workers=int(_number(merged, "MCP_PUSH_WORKERS", 4, 1)),
        poll_max=_number(merged, "MCP_PUSH_POLL_MAX", 0.25, 0.01),
        dedupe_seconds=_number(merged, "MCP_PUSH_DEDUPE_SECONDS", 60.0),
        run_budget=int(_number(merged, "MCP_PUSH_RUN_BUDGET", 30, 1)),
        retention_days=_number(merged, "MCP_PUSH_RETENTION_DAYS", 30.0, 0.0001),
        db_url=_url(merged, "MCP_PUSH_DB_URL", DB_SCHEMES),
        queue_url=_url(merged, "MCP_PUSH_QUEUE_URL", QUEUE_SCHEMES),
        http_token=merged.get("MCP_PUSH_HTTP_TOKEN", "").strip() or None,
    )


# What mcp-push (and SQLite) create in MCP_PUSH_HOME; none of them may be a symbolic link.
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
_OTHER_HOME_NAMES = ("drain.lock", "drain.log", "wake")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_warned_open_homes: set[Path] = set()


def _home_names(settings: Settings) -> list[Path]:
    names = [Path(f"{p}{suffix}") for p in (settings.ledger_path, settings.queue_path) for suffix in _SQLITE_SIDE_FILES]
    return names + [settings.home / name for name in _OTHER_HOME_NAMES]


def _refuse_links(settings: Settings) -> None:
    """A link in the home could make us chmod or append to a file elsewhere (another user's, a system file)."""
    for path in _home_names(settings):
        if path.is_symlink():
            raise ConfigError(
                f"{path} is a symbolic link; mcp-push never follows links inside MCP_PUSH_HOME. "
                "Remove the link (move the real file there if you meant to keep it) or point MCP_PUSH_HOME elsewhere"
            )


def _create_private(path: Path) -> None:
    """Create or open ``path`` without following a link, and make it 0600 through the open file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if path.is_symlink():
            raise ConfigError(
                f"{path} is a symbolic link; mcp-push never follows links inside MCP_PUSH_HOME. "
                "Remove the link or point MCP_PUSH_HOME elsewhere"
            ) from None
        raise exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{path} is not a regular file; move it aside or point MCP_PUSH_HOME elsewhere")
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _warn_if_open(home: Path) -> None:
    """Other users who can enter the home can read the ledger (titles, errors): say so, once."""
    try:
        mode = stat.S_IMODE(home.stat().st_mode)
    except OSError:
        return
    if mode & 0o077 and home not in _warned_open_homes:
        _warned_open_homes.add(home)
        log.warning(
            "MCP_PUSH_HOME %s has mode %03o: other users may read or change the ledger; `chmod 700 %s` fixes it",
            home,
            mode,
            home,
        )


def prepare_home(settings: Settings) -> None:
    """Create MCP_PUSH_HOME (0700) and its database files (0600), or say why we cannot."""
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        _warn_if_open(home)
        _refuse_links(settings)
        for path in (settings.ledger_path, settings.queue_path):
            _create_private(path)
    except OSError as exc:
        raise ConfigError(
            f"MCP_PUSH_HOME {home} is not usable ({exc.strerror}); point MCP_PUSH_HOME at a writable directory"
        ) from exc
