"""The ledger: interface and backends."""

from __future__ import annotations

from urllib.parse import unquote

from mcp_push.channels.redact import split_userinfo
from mcp_push.config import Settings
from mcp_push.errors import ConfigError
from mcp_push.storage.base import Delivery, Ledger, NewTicket, TicketRecord
from mcp_push.storage.sqlite import SqliteLedger

__all__ = [
    "Delivery",
    "Ledger",
    "NewTicket",
    "SqliteLedger",
    "TicketRecord",
    "backend_error",
    "open_ledger",
    "redact_url",
    "scrub",
]


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme, user, password, host/port/path) of a URL, without its query or fragment."""
    prefix, user, password, rest = split_userinfo(url)
    if not prefix:
        return "", "", "", ""
    return prefix[: -len("://")], user, password, rest.split("?", 1)[0].split("#", 1)[0]


def redact_url(url: str) -> str:
    """A backend URL fit for messages and logs: user, host, port and database; never the password or query."""
    scheme, user, _, where = _split(url)
    if not scheme:
        return "(not a URL)"
    return f"{scheme}://{user + '@' if user else ''}{where}"


def scrub(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error) on one line, with the URL's password removed wherever it appears.

    A driver's text is never the user's words, so here even a short password is masked anywhere.
    """
    password = _split(url)[2]
    for secret in sorted({password, unquote(password)}, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())


def backend_error(setting: str, what: str, url: str, exc: BaseException, fallback: str) -> ConfigError:
    """The one error a process reports at start when a backend URL does not lead to a usable server."""
    return ConfigError(
        f"{setting}: cannot use {what} at {redact_url(url)} ({scrub(str(exc), url) or type(exc).__name__}); "
        f"check that the server is running and the URL's host, port, user, password and database, "
        f"or unset {setting} to use {fallback}"
    )


def open_ledger(settings: Settings) -> Ledger:
    """The ledger the settings ask for: PostgreSQL with MCP_PUSH_DB_URL, else SQLite in MCP_PUSH_HOME."""
    if settings.db_url:
        try:
            from mcp_push.storage.postgres import PostgresLedger
        except ImportError as exc:
            raise ConfigError(
                f"MCP_PUSH_DB_URL needs the PostgreSQL driver ({exc.name or exc} is missing): "
                "install it with `pip install 'mcp-push[postgres]'`, or unset MCP_PUSH_DB_URL to use SQLite"
            ) from None
        return PostgresLedger(settings.db_url, max_size=settings.workers + 6)
    return SqliteLedger(settings.ledger_path)
