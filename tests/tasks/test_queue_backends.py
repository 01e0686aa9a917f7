"""The queue on each backend: SQLite (default), Redis and PostgreSQL (with the PostgreSQL ledger).

Runtime + Notifier enqueue, a Worker delivers to the fake ntfy; a failed round goes back to
the ledger as ``retrying`` and comes back as a scheduled (delayed) task. Redis tests get a
leased database number, PostgreSQL tests a schema of their own (see tests/services.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from huey import PostgresHuey, RedisHuey, SqliteHuey

from mcp_push.errors import ConfigError
from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import delivery_status, wait_until
from tests.server.conftest import server_env
from tests.services import postgres_schema, redis_db

HUEY_CLASS = {"sqlite": SqliteHuey, "redis": RedisHuey, "postgres": PostgresHuey}


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """(name, settings) of one queue backend; PostgreSQL carries the ledger too (the all-PostgreSQL setup)."""
    if request.param == "sqlite":
        yield "sqlite", {}
    elif request.param == "redis":
        with redis_db() as url:
            yield "redis", {"MCP_PUSH_QUEUE_URL": url}
    else:
        with postgres_schema() as url:
            yield "postgres", {"MCP_PUSH_DB_URL": url, "MCP_PUSH_QUEUE_URL": url}


@pytest.fixture
def start(backend, fake, open_pipeline):  # backend first: its schema must outlive the worker
    def go(extra: dict[str, str] | None = None, worker: bool = True) -> tuple[Runtime, Notifier]:
        env = {
            **NTFY.env(fake.url),
            **backend[1],
            "MCP_PUSH_RETRY_BASE": "1.5",
            "MCP_PUSH_TRY_WAIT_MAX": "0.1",
            **(extra or {}),
        }
        return open_pipeline(env, worker)

    return go


def test_a_notification_is_delivered_through_the_queue(start, fake, backend) -> None:
    runtime, notifier = start()
    assert isinstance(runtime.huey, HUEY_CLASS[backend[0]]) and runtime.huey.name.startswith("mcp-push")
    receipt = notifier.send("Build finished", f"All green on {backend[0]}", run_id="ci-1")
    assert receipt.status == "queued" and receipt.channels == ["ntfy"]
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="delivery")
    (request,) = fake.requests
    assert request.headers["title"] == "Build finished" and request.body == f"All green on {backend[0]}".encode()
    assert fake.problems == []
    assert notifier.status(run_id="ci-1").status == "success"


def test_a_delayed_retry_comes_back_from_the_schedule(start, fake, backend) -> None:
    fake.script("transient", "transient", "transient")  # one whole in-task round fails
    runtime, notifier = start()
    receipt = notifier.send("t", "c")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "retrying", what="retrying")
    retrying = runtime.ledger.get_ticket(receipt.ticket).deliveries[0]  # type: ignore[union-attr]
    assert retrying.attempts == 3 and retrying.next_attempt_at is not None
    # The retry waits as a scheduled task in this backend, not in the queue proper (scheduled just
    # after the row says retrying).
    wait_until(lambda: runtime.huey.scheduled_count() == 1, what="the retry in the schedule")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", timeout=20, what="redelivery")
    delivered = runtime.ledger.get_ticket(receipt.ticket).deliveries[0]  # type: ignore[union-attr]
    assert delivered.attempts == 4 and len(fake.requests) == 4
    last = runtime.ledger.attempts(receipt.ticket)[-1]
    assert last.outcome == "delivered" and last.started_at >= retrying.next_attempt_at - 0.01  # not sooner
    assert runtime.huey.scheduled_count() == 0 and runtime.huey.pending_count() == 0


def test_a_queue_task_for_a_settled_delivery_sends_nothing(start, fake, backend) -> None:
    """The queue is transport: a duplicate task (sweep, redelivery) finds the ledger row settled."""
    runtime, notifier = start()
    receipt = notifier.send("once", "only once")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="delivery")
    delivery_id = runtime.ledger.get_ticket(receipt.ticket).deliveries[0].id  # type: ignore[union-attr]
    for _ in range(3):
        runtime.enqueue(delivery_id)
    wait_until(lambda: runtime.huey.pending_count() == 0, what="the duplicates to be consumed")
    time.sleep(0.3)
    assert len(fake.requests) == 1


def test_the_queue_spends_no_round_trip_on_revocation(start, fake, backend, monkeypatch) -> None:
    """Huey reads and clears revocation flags around every task; here the ledger's claim decides instead."""
    from huey import storage

    calls: list[str] = []

    def spy(name: str, real):  # type: ignore[no-untyped-def]
        return lambda self, *args, **kwargs: calls.append(name) or real(self, *args, **kwargs)

    for cls in (storage.SqliteStorage, storage.RedisStorage, storage.PostgresStorage):
        for name in ("peek_many", "delete_data"):
            monkeypatch.setattr(cls, name, spy(name, getattr(cls, name)))
    runtime, notifier = start()
    receipt = notifier.send("no revocation", "checked")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="delivery")
    assert calls == []
    with pytest.raises(NotImplementedError, match="cancel the delivery in the ledger"):
        runtime.huey.revoke_by_id("any")


# --- one clear error per bad setting ---------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("MCP_PUSH_QUEUE_URL", "redis://:{pw}@127.0.0.1:{port}/0"),
        ("MCP_PUSH_QUEUE_URL", "postgresql://mcp:{pw}@127.0.0.1:{port}/mcp"),
        ("MCP_PUSH_DB_URL", "postgresql://mcp:{pw}@127.0.0.1:{port}/mcp"),
        ("MCP_PUSH_DB_URL", "postgresql://mcp:{pw}@127.0.0.1:notaport/mcp"),
        ("MCP_PUSH_QUEUE_URL", "redis://:{pw}@127.0.0.1:notaport/0"),
    ],
)
def test_an_unreachable_or_bad_url_is_one_clear_error_naming_the_setting(make_settings, setting, url) -> None:
    settings = make_settings({setting: url.format(pw=SECRET, port=closed_port())})
    with pytest.raises(ConfigError) as caught:
        Runtime.open(settings)
    message = str(caught.value)
    assert message.startswith(setting) and f"unset {setting}" in message
    assert SECRET not in message
    assert "\n" not in message


def test_the_cli_exits_2_with_the_message(tmp_path) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{closed_port()}/0"
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "status", "run-x"],
        env=server_env(tmp_path / "home", {"MCP_PUSH_QUEUE_URL": url}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("mcp-push: MCP_PUSH_QUEUE_URL: cannot use the Redis queue at redis://127.0.0.1:")
    assert SECRET not in done.stderr and done.stderr.count("\n") == 1


def test_a_shared_queue_is_named_after_its_ledger(tmp_path) -> None:
    """Hosts with their own SQLite ledgers must not share a queue: task ids mean something only in one ledger."""
    from mcp_push.tasks.queue import queue_name
    from tests.conftest import settings_for

    a = settings_for(tmp_path / "a", {"MCP_PUSH_QUEUE_URL": "redis://127.0.0.1:6379/1"})
    b = settings_for(tmp_path / "b", {"MCP_PUSH_QUEUE_URL": "redis://127.0.0.1:6379/1"})
    assert queue_name(a) != queue_name(b)
    pg = {"MCP_PUSH_QUEUE_URL": "redis://127.0.0.1:6379/1", "MCP_PUSH_DB_URL": "postgresql://u:secret@db/test"}
    pg_other_password = {**pg, "MCP_PUSH_DB_URL": "postgresql://u:other@db/test"}
    shared_a, shared_b = settings_for(tmp_path / "c", pg), settings_for(tmp_path / "d", pg_other_password)
    assert queue_name(shared_a) == queue_name(shared_b)  # one PostgreSQL ledger: one queue, whatever the host
    assert "secret" not in queue_name(shared_a)
