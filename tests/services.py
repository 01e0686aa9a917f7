"""External services for tests (PostgreSQL, Redis): reach them, or skip (locally) / fail (in CI).

Where they are: ``MCP_PUSH_TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test)
and ``MCP_PUSH_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0). When a service cannot be
reached, a test that needs it is skipped, unless the environment variable ``CI`` is set: then
it fails, so a CI job whose service container is missing never passes by skipping.

Each test gets its own space: ``postgres_schema()`` a fresh schema (the yielded URL sets
search_path to it, so the ledger and the queue tables land there) and ``redis_db()`` a Redis
database number leased for the test, with mcp-push's queue keys removed before and after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get("MCP_PUSH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MCP_PUSH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_checked: dict[str, str | None] = {}  # service -> None (reachable) or why not


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(service: str, url: str, why: str) -> NoReturn:
    """Skip the test, or fail it when CI is set."""
    from mcp_push.storage import redact_url

    message = f"{service} not reachable at {redact_url(url)}: {why}"
    if in_ci():
        pytest.fail(f"{message} (CI is set: services are required)", pytrace=False)
    pytest.skip(message)


def _check(service: str, url: str, probe) -> None:
    key = f"{service} {url}"
    if key not in _checked:
        try:
            probe()
            _checked[key] = None
        except Exception as exc:  # any reason at all: driver missing, refused, auth, timeout
            _checked[key] = " ".join(f"{type(exc).__name__}: {exc}".split())
    why = _checked[key]
    if why is not None:
        unavailable(service, url, why)


def require_postgres(url: str | None = None) -> str:
    """The PostgreSQL server URL for tests, once it answered (else skip/fail)."""
    url = url or POSTGRES_URL

    def probe() -> None:
        import psycopg

        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")

    _check("PostgreSQL", url, probe)
    return url


def require_redis(url: str | None = None) -> str:
    """The Redis server URL for tests, once it answered PING (else skip/fail)."""
    url = url or REDIS_URL

    def probe() -> None:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()

    _check("Redis", url, probe)
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq options that make ``schema`` the search_path of every connection."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


@contextmanager
def postgres_schema(url: str | None = None) -> Iterator[str]:
    """A fresh schema for one test; yields a URL whose connections use it, and drops it afterwards."""
    import psycopg

    base = require_postgres(url)
    schema = f"mcp_push_test_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


# mcp-push's queue keys in Redis: Huey's RedisStorage keys for queues named "mcp-push-<ledger hash>".
QUEUE_KEY_PATTERN = "huey.*mcppush*"
_LEASE = "mcp-push-tests:db-lease:{}"
_LEASE_SECONDS = 1800


def _clear_queue_keys(client) -> None:
    for key in client.scan_iter(match=QUEUE_KEY_PATTERN):
        client.delete(key)


@contextmanager
def redis_db(url: str | None = None) -> Iterator[str]:
    """A Redis database number leased for one test (so concurrent runs never share a queue).

    Yields a URL to that database; mcp-push's queue keys there are removed before and after.
    The lease is a key in database 0 that expires on its own if the test process dies.
    """
    import redis

    base = require_redis(url)
    root = base.rsplit("/", 1)[0] if base.count("/") >= 3 else base.rstrip("/")
    token = secrets.token_hex(8)
    admin = redis.Redis.from_url(f"{root}/0", socket_connect_timeout=3)
    try:
        number = None
        for candidate in range(1, 16):
            if admin.set(_LEASE.format(candidate), token, nx=True, ex=_LEASE_SECONDS):
                number = candidate
                break
        if number is None:
            unavailable("Redis", base, "no free database number among 1..15 (all leased by other test runs)")
        leased = f"{root}/{number}"
        client = redis.Redis.from_url(leased, socket_connect_timeout=3)
        try:
            _clear_queue_keys(client)
            yield leased
        finally:
            _clear_queue_keys(client)
            client.close()
            if admin.get(_LEASE.format(number)) == token.encode():
                admin.delete(_LEASE.format(number))
    finally:
        admin.close()
