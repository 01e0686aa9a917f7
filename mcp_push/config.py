"""Settings: the process environment over a config.sh file, plus mcp-push's own knobs.

Channel variables keep QingLong's names (TG_BOT_TOKEN, DD_BOT_TOKEN...). They are read
from ``$MCP_PUSH_CONFIG``, else ``$MCP_PUSH_HOME/config.sh``, else ``./config.sh``; the
process environment wins over the file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from mcp_push.errors import ConfigError

EVENTS = ("start", "update", "end", "error")
DEFAULT_PUSHED_EVENTS = frozenset({"end", "error"})


def parse_config_file(text: str, source: str = "config.sh") -> dict[str, str]:
    """Read a shell file of ``export KEY=value`` assignments, as a POSIX shell would split it.

    Quotes, several assignments on one line and quoted values spanning lines (WEBHOOK_BODY)
    all work; anything that is not an assignment is an error naming the line.
    """
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    values: dict[str, str] = {}
    while True:
        try:
            token = lexer.get_token()
        except ValueError as exc:
            raise ConfigError(f"{source}:{lexer.lineno}: {exc}; check the quotes") from None
        if token is None or token == lexer.eof:
            return values
        if token == "export":
            continue
        key, sep, value = token.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum() or key[0].isdigit():
            raise ConfigError(f"{source}:{lexer.lineno}: expected `export KEY=value`, got {token[:60]!r}")
        values[key] = value


def _config_file(environ: Mapping[str, str], home: Path) -> Path | None:
    explicit = environ.get("MCP_PUSH_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"MCP_PUSH_CONFIG points to {path}, which is not a readable file")
        return path
    for candidate in (home / "config.sh", Path.cwd() / "config.sh"):
        if candidate.is_file():
            return candidate
    return None


def _number(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number; set it to e.g. {default:g} or unset it") from None
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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings from the environment and the config file; raise ConfigError if unusable."""
    environ = dict(os.environ if environ is None else environ)
    home = default_home(environ)
    config_file = _config_file(environ, home)
    merged: dict[str, str] = {}
    if config_file is not None:
        try:
            merged.update(parse_config_file(config_file.read_text(encoding="utf-8"), str(config_file)))
        except OSError as exc:
            raise ConfigError(f"cannot read {config_file}: {exc.strerror}") from exc
    merged.update(environ)
    return Settings(
        home=home,
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


def prepare_home(settings: Settings) -> None:
    """Create MCP_PUSH_HOME (0700) and its database files (0600), or say why we cannot."""
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in (settings.ledger_path, settings.queue_path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"MCP_PUSH_HOME {home} is not usable ({exc.strerror}); point MCP_PUSH_HOME at a writable directory"
        ) from exc
