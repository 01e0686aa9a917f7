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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_push.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS = ("start", "update", "end", "error")
ASK_EVENT = "ask"  # the event of an ask ticket: always pushed, so never named in MCP_PUSH_EVENTS
DEFAULT_PUSHED_EVENTS = frozenset({"end", "error"})


def parse_config_file(text: str, source: str = "config.sh") -> dict[str, str]:
    """The assignments of a config file (``export KEY=value``, several per line, quoted values over
    several lines). Anything else (an ordinary shell script's commands) is skipped with one warning."""
    from mcp_push.configfile import read_config_text  # here: without a config file no process loads the lexer

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


DB_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss")
QUEUE_SCHEMES = (*REDIS_SCHEMES, *DB_SCHEMES)


@dataclass(frozen=True)
class Knob:
    """One of mcp-push's own settings, declared once: it gives ``Settings`` its default,
    ``load_settings`` its parsing and docs/configuration.md its row.

    ``kind`` is how the value is read: ``float``/``int`` (finite, at least ``minimum``), ``events``,
    ``url`` (one of ``schemes``), ``token`` (stripped, ``None`` when empty). A knob without a
    ``field`` is read by name elsewhere (the CLI, the HTTP guard, the login-shell step...) and is
    declared here so that the doc lists it. ``shown`` is the doc's default when it is not ``default``.
    """

    var: str
    meaning: str
    default: Any = None
    kind: str = "text"
    field: str = ""
    minimum: float | None = None
    shown: str = ""
    schemes: tuple[str, ...] = ()


SETTINGS: tuple[Knob, ...] = (
    Knob(
        "MCP_PUSH_HOME",
        "data directory: `ledger.sqlite3` (the truth), `queue.sqlite3` (Huey), `drain.log`, `answer.key` (signs "
        "answer buttons and links); created 0700, files "
        "0600. None of its files may be a symbolic link (refused with an error, the link's target untouched); a "
        "home that other users can open gets one warning",
        kind="path",
        shown="platform user data dir (`~/.local/share/mcp-push` on Linux)",
    ),
    Knob("MCP_PUSH_CONFIG", "the config file to read", kind="path", shown="`$MCP_PUSH_HOME/config.sh`"),
    Knob(
        "MCP_PUSH_SHELL_ENV",
        "`0` (or `false`, `no`, `off`): `serve` does not read variables from the login shell",
        shown="on",
    ),
    Knob(
        "MCP_PUSH_EVENTS",
        "comma list of `notify_event` events that are pushed; the others are recorded with a reason (asks, "
        "`notify_ask`, are always pushed)",
        DEFAULT_PUSHED_EVENTS,
        "events",
        "pushed_events",
        shown="`end,error`",
    ),
    Knob("MCP_PUSH_LOG", "log level on stderr: `debug`, `info`, `warning`, `error`", shown="`warning`"),
    Knob("MCP_PUSH_WORKERS", "delivery threads of a worker (embedded or `mcp-push worker`)", 4, "int", "workers", 1),
    Knob(
        "MCP_PUSH_HTTP_TIMEOUT",
        "seconds before a provider that does not answer counts as a transient failure (HTTP and SMTP)",
        10.0,
        "float",
        "http_timeout",
        0.1,
    ),
    Knob(
        "MCP_PUSH_TRY_ATTEMPTS",
        "attempts inside one task (tenacity) before the delivery is rescheduled",
        3,
        "int",
        "try_attempts",
        1,
    ),
    Knob(
        "MCP_PUSH_TRY_WAIT_MAX",
        "longest wait between those attempts, and the longest `Retry-After` honoured in-task (seconds); a provider "
        "asking for longer gets the delivery rescheduled instead",
        30.0,
        "float",
        "try_wait_max",
        0,
    ),
    Knob(
        "MCP_PUSH_RETRY_BASE",
        "first delay of a rescheduled delivery (seconds); doubles each round",
        60.0,
        "float",
        "retry_base",
        0.01,
    ),
    Knob("MCP_PUSH_RETRY_MAX_DELAY", "cap on that delay", 3600.0, "float", "retry_max_delay", 0.01),
    Knob(
        "MCP_PUSH_MAX_AGE",
        "after this many seconds since the notification was created, a delivery still failing is `failed`",
        86400.0,
        "float",
        "max_age",
        1,
    ),
    Knob(
        "MCP_PUSH_LEASE_SECONDS",
        "how long a worker's claim on a delivery lasts without renewal; a dead worker's claims expire after it",
        60.0,
        "float",
        "lease_seconds",
        1,
    ),
    Knob(
        "MCP_PUSH_SWEEP_SECONDS",
        "how often each worker looks for deliveries whose task was lost",
        15.0,
        "float",
        "sweep_seconds",
        0.1,
    ),
    Knob(
        "MCP_PUSH_STOP_GRACE",
        "on a stop, seconds a send already on the wire may take to be answered before it is handed back (serve "
        "uses at most 5, a drain worker at most 2)",
        5.0,
        "float",
        "stop_grace",
        0,
    ),
    Knob(
        "MCP_PUSH_POLL_MAX",
        "longest pause between queue polls of an idle worker (seconds); producers on the same host wake idle "
        "workers at once anyway",
        0.25,
        "float",
        "poll_max",
        0.01,
    ),
    Knob(
        "MCP_PUSH_DEDUPE_SECONDS",
        "loop guard: an identical notification (run, event, title, content) within this window is coalesced into "
        "the first ticket; `0` turns it off",
        60.0,
        "float",
        "dedupe_seconds",
        0,
    ),
    Knob(
        "MCP_PUSH_RUN_BUDGET",
        "notifications a run may push per hour; the rest are recorded, with one notice pushed",
        30,
        "int",
        "run_budget",
        1,
    ),
    Knob(
        "MCP_PUSH_RETENTION_DAYS",
        "settled notifications older than this are purged daily",
        30.0,
        "float",
        "retention_days",
        0.0001,
    ),
    Knob(
        "MCP_PUSH_DB_URL",
        "`postgresql://…`: the ledger on PostgreSQL ([operations.md](operations.md))",
        kind="url",
        field="db_url",
        shown="SQLite in `MCP_PUSH_HOME`",
        schemes=DB_SCHEMES,
    ),
    Knob(
        "MCP_PUSH_QUEUE_URL",
        "`redis://…` or `postgresql://…`: the queue there",
        kind="url",
        field="queue_url",
        shown="SQLite in `MCP_PUSH_HOME`",
        schemes=QUEUE_SCHEMES,
    ),
    Knob(
        "MCP_PUSH_HTTP_TOKEN",
        "bearer token for `serve --transport http` ([agents.md](agents.md)); see "
        "[HTTP rules](#http-transport-and-dashboard)",
        kind="token",
        field="http_token",
    ),
    Knob(
        "MCP_PUSH_HTTP_ALLOWED_HOSTS",
        "extra `Host` names the HTTP transport and the dashboard accept, comma or space separated (`*`: no "
        "check, needs a token)",
        shown="loopback and the bound address",
    ),
    Knob(
        "MCP_PUSH_ASK_TIMEOUT",
        "seconds a blocking hook (a permission request, [asking.md](asking.md)) waits for the answer from the phone "
        "before the agent's own prompt decides; `0`: hooks do not wait",
        120.0,
        "float",
        "ask_timeout",
        0,
    ),
    Knob(
        "MCP_PUSH_PUBLIC_URL",
        "`https://…`: the address of `serve --transport http` or `mcp-push dashboard` as the phone reaches it (LAN, "
        "VPN, tunnel); every ask then carries an answer link `<url>/answer/<token>`, and channels without buttons "
        "get that link",
        kind="http_url",
        field="public_url",
        shown="no answer links",
    ),
    *(
        Knob(
            f"MCP_PUSH_PRIORITY_{event.upper()}",
            f"priority of `{event}` messages that do not give one: `low`, `normal`, `high` or `urgent` "
            "([channels.md](channels.md#priority))",
            shown=f"`{level}`",
        )
        for event, level in (("start", "low"), ("update", "low"), ("end", "normal"), ("error", "high"), ("ask", "high"))
    ),
    Knob(
        "MCP_PUSH_CRITICAL",
        "`true`: an `urgent` Bark message is `critical` (rings through silent mode)",
        shown="off",
    ),
    Knob(
        "MCP_PUSH_SOURCE",
        "`off`: messages carry no source line (project · branch · host · agent · session)",
        shown="on",
    ),
    *(
        Knob(
            f"MCP_PUSH_ROUTE_{kind.upper()}",
            f"where {what} go: a comma list of channel ids (instances such as `telegram:2` too); a call's own "
            "`channels` wins ([attention.md](attention.md#routes))",
            shown="every enabled channel",
        )
        for kind, what in (
            ("send", "notifications without an event (`notify_send`, a hook's plain notices)"),
            ("start", "`start` events"),
            ("update", "`update` events"),
            ("end", "`end` events"),
            ("error", "`error` events"),
            ("ask", "asks"),
        )
    ),
    Knob(
        "MCP_PUSH_QUIET",
        "quiet hours `HH:MM-HH:MM` (may wrap midnight): pushes that are not urgent wait as `held` and come as one "
        "digest per channel when the window ends ([attention.md](attention.md#quiet-hours))",
        shown="none",
    ),
    Knob("MCP_PUSH_TZ", "the IANA time zone of `MCP_PUSH_QUIET`, e.g. `Europe/Berlin`", shown="the system's zone"),
    Knob(
        "MCP_PUSH_QUIET_BYPASS",
        "comma list of kinds (send, start, update, end, error, ask; or `none`) that go through quiet hours; "
        "`urgent` messages always do",
        shown="`error,ask`",
    ),
    Knob(
        "MCP_PUSH_DIGEST_SECONDS",
        "a run's pushed `start`/`update` events are folded into one message per this many seconds; `0`: off "
        "([attention.md](attention.md#digest-of-progress))",
        shown="`0`",
        minimum=0,
    ),
    Knob(
        "MCP_PUSH_STOP_DELAY",
        "seconds a hook's turn end (Claude Code `Stop`, `idle_prompt`, Codex and Gemini turn ends) waits; dropped "
        "if the person submits a prompt meanwhile (`UserPromptSubmit`); `0`: off "
        "([attention.md](attention.md#not-while-at-the-keyboard))",
        shown="`0`",
        minimum=0,
    ),
    Knob(
        "MCP_PUSH_MIN_TURN_SECONDS",
        "a hook's turn end whose turn (since the recorded `UserPromptSubmit`) lasted less is recorded, not pushed; "
        "`0`: off ([attention.md](attention.md#only-long-turns))",
        shown="`60`",
        minimum=0,
    ),
    Knob(
        "MCP_PUSH_ASK_ESCALATE",
        "escalation tiers of asks, `;`-separated channel lists with `@seconds` after the first, e.g. "
        "`telegram; ntfy,smtp @120`: a later tier gets the ask only if it is still unanswered "
        "([attention.md](attention.md#escalation-of-asks))",
        shown="none",
    ),
    Knob("SKIP_PUSH_TITLE", "newline-separated titles that are recorded, not pushed"),
    Knob("HITOKOTO", "`true`: append a hitokoto sentence (1 s cap, skipped if slow)"),
    Knob("APPRISE_URLS", "Apprise URLs, one channel each (`pip install 'mcp-push[apprise]'`)"),
)
_FIELDS = {knob.field: knob for knob in SETTINGS if knob.field}


def _default(name: str) -> Any:
    """The declared default of the ``Settings`` field ``name``."""
    return _FIELDS[name].default


def _number(env: Mapping[str, str], knob: Knob) -> float:
    key, default, minimum = knob.var, knob.default, knob.minimum or 0.0
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw[:40]!r} is not a number; set it to e.g. {default:g} or unset it") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key}={raw!r} is not a finite number; set it to e.g. {default:g} or unset it")
    if value < minimum:
        raise ConfigError(f"{key}={raw!r} must be at least {minimum:g}")
    return value


def _events(env: Mapping[str, str], knob: Knob) -> frozenset[str]:
    raw = env.get(knob.var)
    if raw is None or not raw.strip():
        return knob.default
    chosen = {part.strip().lower() for part in raw.replace(";", ",").split(",") if part.strip()}
    unknown = chosen - set(EVENTS)
    if unknown:
        raise ConfigError(f"{knob.var} names unknown events {sorted(unknown)}; use a comma list of {', '.join(EVENTS)}")
    return frozenset(chosen)


def url_scheme(url: str) -> str:
    """The scheme of a backend URL, lower-cased ('' without ``://``): what its validation and
    ``Settings.queue_backend`` both read."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _url(env: Mapping[str, str], knob: Knob) -> str | None:
    """A backend URL, checked for a scheme we support (the server itself is checked at start)."""
    key, schemes = knob.var, knob.schemes
    raw = env.get(key, "").strip()
    if not raw:
        return None
    if url_scheme(raw) not in schemes:
        from mcp_push.channels.redact import split_userinfo  # only on this error path: it loads the channels

        shown = split_userinfo(raw)[3][:60]  # never the userinfo: it may hold the password
        raise ConfigError(
            f"{key} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; got {shown!r}. "
            f"Unset {key} to use the SQLite files in MCP_PUSH_HOME"
        )
    return raw


def _token(env: Mapping[str, str], knob: Knob) -> str | None:
    return env.get(knob.var, "").strip() or None


def _http_url(env: Mapping[str, str], knob: Knob) -> str | None:
    """An http(s) base address without a trailing slash (links are built on it)."""
    raw = env.get(knob.var, "").strip()
    if not raw:
        return None
    scheme, _, rest = raw.partition("://")
    if scheme.lower() not in ("http", "https") or not rest.split("/", 1)[0]:
        raise ConfigError(
            f"{knob.var} must be an http:// or https:// address such as https://mcp-push.example.net; "
            f"got {raw[:60]!r}. Unset it to send asks without answer links"
        )
    if "?" in rest or "#" in rest:
        raise ConfigError(f"{knob.var} is a base address: remove its ?query or #fragment ({raw[:60]!r})")
    return raw.rstrip("/")


_READERS: dict[str, Callable[[Mapping[str, str], Knob], Any]] = {
    "float": _number,
    "int": lambda env, knob: int(_number(env, knob)),
    "events": _events,
    "url": _url,
    "token": _token,
    "http_url": _http_url,
}


def doc_table() -> str:
    """The settings table of docs/configuration.md, from the declaration (a test keeps the doc equal)."""
    rows = ["| variable | meaning | default | at least |", "|---|---|---|---|"]
    for knob in SETTINGS:
        if knob.shown:
            default = knob.shown
        elif knob.default is None:
            default = "—"
        else:
            default = f"`{knob.default:g}`"
        minimum = "—" if knob.minimum is None else f"`{knob.minimum:g}`"
        rows.append(f"| `{knob.var}` | {knob.meaning} | {default} | {minimum} |")
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Settings:
    """Everything a process of mcp-push needs to know, resolved once at start (defaults: ``SETTINGS``)."""

    home: Path
    env: Mapping[str, str] = field(repr=False)
    config_file: Path | None = None
    pushed_events: frozenset[str] = _default("pushed_events")
    http_timeout: float = _default("http_timeout")
    try_attempts: int = _default("try_attempts")
    try_wait_max: float = _default("try_wait_max")
    retry_base: float = _default("retry_base")
    retry_max_delay: float = _default("retry_max_delay")
    max_age: float = _default("max_age")
    lease_seconds: float = _default("lease_seconds")
    sweep_seconds: float = _default("sweep_seconds")
    stop_grace: float = _default("stop_grace")
    workers: int = _default("workers")
    poll_max: float = _default("poll_max")
    dedupe_seconds: float = _default("dedupe_seconds")
    run_budget: int = _default("run_budget")
    retention_days: float = _default("retention_days")
    db_url: str | None = field(default=_default("db_url"), repr=False)
    queue_url: str | None = field(default=_default("queue_url"), repr=False)
    http_token: str | None = field(default=_default("http_token"), repr=False)
    ask_timeout: float = _default("ask_timeout")
    public_url: str | None = _default("public_url")

    @property
    def ledger_path(self) -> Path:
        return self.home / "ledger.sqlite3"

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.sqlite3"

    @property
    def queue_backend(self) -> str:
        """Which queue MCP_PUSH_QUEUE_URL names: ``sqlite`` (unset), ``redis`` or ``postgres``."""
        if not self.queue_url:
            return "sqlite"
        return "redis" if url_scheme(self.queue_url) in REDIS_SCHEMES else "postgres"

    def origin_for(self, channel_id: str) -> str | None:
        """``MCP_PUSH_ORIGIN_<ID>``: where a channel's API really lives (relay, proxy, fake). An
        instance (``telegram:2``) reads ``MCP_PUSH_ORIGIN_TELEGRAM_2``, else its provider's."""
        names = [origin_variable(channel_id)]
        if ":" in channel_id:
            names.append(origin_variable(channel_id.partition(":")[0]))
        for name in names:
            value = self.env.get(name, "").strip()
            if value:
                return value
        return None


def origin_variable(channel_id: str) -> str:
    """The MCP_PUSH_ORIGIN_<ID> variable of a channel id (telegram:2 -> MCP_PUSH_ORIGIN_TELEGRAM_2)."""
    return "MCP_PUSH_ORIGIN_" + channel_id.upper().replace(":", "_")


def default_home(environ: Mapping[str, str]) -> Path:
    raw = environ.get("MCP_PUSH_HOME", "").strip()
    if raw:
        return Path(raw).expanduser()
    import platformdirs  # here: it loads tempfile, shutil and more, which a set MCP_PUSH_HOME never needs

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
    values = {name: _READERS[knob.kind](merged, knob) for name, knob in _FIELDS.items()}
    return Settings(home=default_home(merged), env=merged, config_file=config_file, **values)


# What mcp-push (and SQLite) create in MCP_PUSH_HOME; none of them may be a symbolic link.
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
_OTHER_HOME_NAMES = ("drain.lock", "drain.log", "wake", "answer.key")
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
