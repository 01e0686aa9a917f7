"""The ledger contract: what every backend must do, run against each of them."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from mcp_push.storage import Ledger, NewTicket, SqliteLedger

NOW = 1_800_000_000.0


def new(ticket: str = "tk-1", channels=("ntfy", "telegram"), run_id: str = "run-1", **kw) -> NewTicket:
    return NewTicket(ticket, run_id, "Title", "Content", kw.pop("created_at", NOW), tuple(channels), **kw)


def test_create_writes_ticket_and_one_pending_delivery_per_channel(ledger: Ledger) -> None:
    record, created = ledger.create_ticket(new(event="end", data={"tests": 42}))
    assert created
    assert record.event == "end" and record.data == {"tests": 42}
    assert [(d.channel, d.status, d.attempts) for d in record.deliveries] == [
        ("ntfy", "pending", 0),
        ("telegram", "pending", 0),
    ]
    assert ledger.get_ticket("tk-1") == record
    assert ledger.unfinished_count() == 2


def test_delivery_counts_and_the_oldest_unfinished_delivery(ledger: Ledger) -> None:
    assert ledger.delivery_counts() == [] and ledger.oldest_unfinished() is None
    first, _ = ledger.create_ticket(new("tk-1", created_at=NOW))
    ledger.create_ticket(new("tk-2", channels=("ntfy",), created_at=NOW + 5))
    ntfy = next(d for d in first.deliveries if d.channel == "ntfy")
    assert ledger.claim(ntfy.id, "w1", 60, NOW + 6) is not None
    ledger.finish(ntfy.id, "w1", "delivered", None, NOW + 7)
    assert ledger.delivery_counts() == [("ntfy", "delivered", 1), ("ntfy", "pending", 1), ("telegram", "pending", 1)]
    assert ledger.oldest_unfinished() == NOW  # tk-1's telegram delivery is still open
    telegram = next(d for d in first.deliveries if d.channel == "telegram")
    assert ledger.claim(telegram.id, "w1", 60, NOW + 8) is not None
    ledger.finish(telegram.id, "w1", "failed", "no", NOW + 9)
    assert ledger.oldest_unfinished() == NOW + 5


def test_recorded_ticket_has_no_delivery(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=(), reason="not pushed"))
    assert record.deliveries == () and record.reason == "not pushed"
    assert ledger.unfinished_count() == 0


def test_idempotency_key_returns_the_first_ticket(ledger: Ledger) -> None:
    first, created = ledger.create_ticket(new("tk-1", idempotency_key="k"))
    again, created_again = ledger.create_ticket(new("tk-2", idempotency_key="k"))
    assert created and not created_again
    assert again.ticket == first.ticket == "tk-1"
    assert ledger.get_ticket("tk-2") is None


def test_idempotency_under_concurrency_writes_one_ticket(ledger: Ledger) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        record, _ = ledger.create_ticket(new(f"tk-{i}", idempotency_key="same"))
        with lock:
            results.append(record.ticket)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert len(ledger.run_tickets("run-1")) == 1


def test_run_tickets_in_creation_order(ledger: Ledger) -> None:
    ledger.create_ticket(new("tk-b", created_at=NOW + 1))
    ledger.create_ticket(new("tk-a", created_at=NOW))
    ledger.create_ticket(new("tk-other", run_id="run-2"))
    assert [t.ticket for t in ledger.run_tickets("run-1")] == ["tk-a", "tk-b"]
    assert ledger.run_tickets("nope") == []


def test_claim_is_exclusive(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def claim(owner: str) -> None:
        barrier.wait()
        if ledger.claim(did, owner, 30, NOW) is not None:
            winners.append(owner)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    d = ledger.get_delivery(did)
    assert d and d.status == "in_flight" and d.lease_owner == winners[0]


def test_expired_lease_can_be_claimed_again(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    assert ledger.claim(did, "dead", 10, NOW)
    assert ledger.claim(did, "other", 10, NOW + 5) is None
    assert ledger.renew_lease(did, "dead", 10, NOW + 5)
    assert ledger.claim(did, "other", 10, NOW + 12) is None  # renewed until NOW + 15
    taken = ledger.claim(did, "other", 10, NOW + 16)
    assert taken and taken.lease_owner == "other"
    assert not ledger.renew_lease(did, "dead", 10, NOW + 16)


def test_finish_and_attempts(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy", "telegram")))
    a, b = (d.id for d in record.deliveries)
    ledger.claim(a, "w", 30, NOW)
    ledger.record_attempt(a, NOW, NOW + 1, "transient", "HTTP 502")
    ledger.record_attempt(a, NOW + 2, NOW + 3, "delivered", None)
    ledger.finish(a, "w", "delivered", None, NOW + 3)
    ledger.claim(b, "w", 30, NOW)
    ledger.record_attempt(b, NOW, NOW + 1, "permanent", "chat not found")
    ledger.finish(b, "w", "failed", "chat not found", NOW + 1)
    da, db = ledger.get_delivery(a), ledger.get_delivery(b)
    assert da and (da.status, da.attempts, da.delivered_at) == ("delivered", 2, NOW + 3)
    assert db and (db.status, db.attempts, db.last_error) == ("failed", 1, "chat not found")
    assert ledger.unfinished_count() == 0
    with pytest.raises(ValueError):
        ledger.finish(a, "w", "retrying", None, NOW)


def test_failure_from_a_worker_that_lost_its_lease_is_ignored(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    ledger.claim(did, "old", 10, NOW)
    ledger.claim(did, "new", 10, NOW + 11)
    ledger.finish(did, "old", "failed", "late", NOW + 12)
    d = ledger.get_delivery(did)
    assert d and d.status == "in_flight" and d.lease_owner == "new"


def test_defer_retrying_and_not_due_until_then(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    ledger.claim(did, "w", 30, NOW)
    ledger.defer(did, "w", NOW + 60, "HTTP 503", NOW, retrying=True)
    d = ledger.get_delivery(did)
    assert d and (d.status, d.next_attempt_at, d.last_error) == ("retrying", NOW + 60, "HTTP 503")
    assert ledger.claim(did, "w", 30, NOW + 30) is None
    assert ledger.claim(did, "w", 30, NOW + 60) is not None


def test_defer_for_rate_limit_stays_pending(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    ledger.claim(did, "w", 30, NOW)
    ledger.defer(did, "w", NOW + 3, None, NOW, retrying=False)
    d = ledger.get_delivery(did)
    assert d and d.status == "pending" and d.attempts == 0


def test_release_owner_hands_back_in_flight(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy", "telegram")))
    a, b = (d.id for d in record.deliveries)
    ledger.claim(a, "stopping", 30, NOW)
    ledger.claim(b, "other", 30, NOW)
    assert ledger.release_owner("stopping", NOW + 1) == [a]
    da = ledger.get_delivery(a)
    assert da and da.status == "pending" and da.lease_owner is None
    assert ledger.claim(a, "next", 30, NOW + 1) is not None


def test_sweep_finds_lost_tasks(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy", "telegram", "bark")))
    never_enqueued, expired, retry = (d.id for d in record.deliveries)
    ledger.claim(expired, "dead", 10, NOW)
    ledger.claim(retry, "w", 10, NOW)
    ledger.defer(retry, "w", NOW + 100, "503", NOW, retrying=True)
    # Right away nothing is stale: tasks are presumably still in the queue.
    assert ledger.due_for_sweep(NOW + 1, stale_after=30) == []
    assert ledger.due_for_sweep(NOW + 31, stale_after=30) == [never_enqueued, expired]
    ledger.mark_enqueued([never_enqueued], NOW + 31)
    assert ledger.due_for_sweep(NOW + 32, stale_after=30) == [expired]
    # The retry is overdue only once its scheduled task should long have run.
    assert retry in ledger.due_for_sweep(NOW + 131, stale_after=30)


def test_rate_slots_are_shared(ledger: Ledger) -> None:
    waits = [ledger.reserve_rate("dingtalk:abc", 2, 60, NOW + i) for i in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(58.0)
    assert ledger.reserve_rate("other", 2, 60, NOW) == 0.0
    assert ledger.reserve_rate("dingtalk:abc", 2, 60, NOW + 60) == 0.0


def test_heartbeats(ledger: Ledger) -> None:
    ledger.heartbeat("w1", NOW)
    ledger.heartbeat("w2", NOW - 100)
    assert ledger.live_workers(NOW + 1, within=15) == ["w1"]
    ledger.forget_worker("w1")
    assert ledger.live_workers(NOW + 1, within=15) == []


def test_timestamps_are_real_clock_values(ledger: Ledger) -> None:
    now = time.time()
    record, _ = ledger.create_ticket(new(created_at=now))
    assert abs(record.deliveries[0].created_at - now) < 1e-3


def test_dedupe_window_coalesces_identical_notifications(ledger: Ledger) -> None:
    _, created = ledger.create_ticket(new("tk-1", created_at=NOW), dedupe_since=NOW - 60)
    same, created_same = ledger.create_ticket(new("tk-2", created_at=NOW + 5), dedupe_since=NOW + 5 - 60)
    assert created and not created_same and same.ticket == "tk-1"
    other = NewTicket("tk-3", "run-1", "Title", "Other content", NOW + 6, ("ntfy",))
    assert ledger.create_ticket(other, dedupe_since=NOW + 6 - 60)[1]
    later, created_later = ledger.create_ticket(new("tk-4", created_at=NOW + 61), dedupe_since=NOW + 1)
    assert created_later and later.ticket == "tk-4"


def test_run_counts(ledger: Ledger) -> None:
    ledger.create_ticket(new("tk-1", created_at=NOW))
    ledger.create_ticket(new("tk-2", channels=(), reason="recorded", created_at=NOW + 1))
    ledger.create_ticket(new("tk-3", created_at=NOW + 2, event="notice"))
    ledger.create_ticket(new("tk-4", created_at=NOW - 100))
    assert ledger.run_counts("run-1", NOW) == (1, 1)
    assert ledger.run_counts("run-1", NOW - 200) == (2, 1)


def test_requeue_failed_and_attempts_timeline(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy", "telegram")))
    a, b = (d.id for d in record.deliveries)
    for did in (a, b):
        ledger.claim(did, "w", 30, NOW)
        ledger.record_attempt(did, NOW, NOW + 1, "permanent", "bad token")
        ledger.finish(did, "w", "failed", "bad token", NOW + 1)
    assert ledger.requeue_failed(NOW + 10, channel="telegram") == [b]
    d = ledger.get_delivery(b)
    assert d and d.status == "pending" and d.attempts == 1 and d.age_base == NOW + 10
    assert ledger.requeue_failed(NOW + 11, failed_since=NOW + 5) == []
    assert ledger.requeue_failed(NOW + 12, ticket="tk-1") == [a]
    timeline = ledger.attempts("tk-1")
    assert [(t.channel, t.outcome, t.error) for t in timeline] == [
        ("ntfy", "permanent", "bad token"),
        ("telegram", "permanent", "bad token"),
    ]


def test_purge_removes_only_old_settled_tickets(ledger: Ledger) -> None:
    old, _ = ledger.create_ticket(new("tk-old", created_at=NOW - 1000))
    for d in old.deliveries:
        ledger.claim(d.id, "w", 30, NOW)
        ledger.record_attempt(d.id, NOW, NOW, "delivered", None)
        ledger.finish(d.id, "w", "delivered", None, NOW)
    ledger.create_ticket(new("tk-old-open", created_at=NOW - 1000))
    ledger.create_ticket(new("tk-new", created_at=NOW))
    assert ledger.purge(NOW - 10) == 1
    assert ledger.get_ticket("tk-old") is None
    assert ledger.get_ticket("tk-old-open") is not None and ledger.get_ticket("tk-new") is not None
    assert ledger.attempts("tk-old") == []


def test_recent_runs_and_outcome_counts(ledger: Ledger) -> None:
    ledger.create_ticket(new("tk-a", run_id="run-a", created_at=NOW))
    record, _ = ledger.create_ticket(new("tk-b", run_id="run-b", channels=("ntfy",), created_at=NOW + 10))
    assert ledger.recent_run_ids(10) == ["run-b", "run-a"]
    assert ledger.recent_run_ids(1) == ["run-b"]
    did = record.deliveries[0].id
    ledger.claim(did, "w", 30, NOW)
    ledger.record_attempt(did, NOW, NOW + 3601, "transient", "503")
    ledger.record_attempt(did, NOW, NOW + 3602, "delivered", None)
    counts = ledger.outcome_counts(NOW, 3600)
    slot = (NOW + 3601) // 3600 * 3600
    assert sorted(counts) == [("ntfy", slot, "delivered", 1), ("ntfy", slot, "transient", 1)]


def test_sweep_without_unclaimed_returns_only_expired_leases(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy", "telegram")))
    waiting, expired = (d.id for d in record.deliveries)
    ledger.claim(expired, "dead", 10, NOW)
    assert ledger.due_for_sweep(NOW + 100, stale_after=30, unclaimed=False) == [expired]
    assert ledger.due_for_sweep(NOW + 100, stale_after=30) == [waiting, expired]


def test_per_target_progress_is_kept_and_purged_with_its_delivery(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("chronocat", "ntfy"), created_at=NOW - 1000))
    a, b = (d.id for d in record.deliveries)
    assert ledger.targets_done(a) == set()
    ledger.mark_target_done(a, "group:1", NOW)
    ledger.mark_target_done(a, "group:1", NOW + 1)  # idempotent
    ledger.mark_target_done(a, "user:2", NOW + 2)
    assert ledger.targets_done(a) == {"group:1", "user:2"}
    assert ledger.targets_done(b) == set()
    for did in (a, b):
        ledger.claim(did, "w", 30, NOW)
        ledger.finish(did, "w", "delivered", None, NOW + 3)
    assert ledger.purge(NOW - 10) == 1
    assert ledger.targets_done(a) == set()


def test_channel_cache_expires_and_is_shared(ledger: Ledger) -> None:
    assert ledger.cache_get("wecom_app:token:abc", NOW) is None
    ledger.cache_put("wecom_app:token:abc", "t-1", NOW + 7200)
    assert ledger.cache_get("wecom_app:token:abc", NOW + 7199) == "t-1"
    assert ledger.cache_get("wecom_app:token:abc", NOW + 7200) is None  # expired
    ledger.cache_put("wecom_app:token:abc", "t-2", NOW + 9000)  # a refresh replaces it
    assert ledger.cache_get("wecom_app:token:abc", NOW + 7200) == "t-2"
    ledger.cache_put("other", "x", NOW - 100)
    ledger.purge(NOW)  # expired rows go; live ones stay
    assert ledger.cache_get("wecom_app:token:abc", NOW) == "t-2"
    ledger.cache_put("other", "y", NOW + 1)
    assert ledger.cache_get("other", NOW) == "y"


def test_claim_with_ticket_reads_the_ticket_in_the_same_step(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",), event="end", data={"k": [1, 2]}))
    did = record.deliveries[0].id
    claimed = ledger.claim_with_ticket(did, "w", 30, NOW)
    assert claimed is not None
    delivery, ticket = claimed
    assert (delivery.id, delivery.status, delivery.lease_owner) == (did, "in_flight", "w")
    assert (ticket.ticket, ticket.title, ticket.content, ticket.event, ticket.data) == (
        "tk-1",
        "Title",
        "Content",
        "end",
        {"k": [1, 2]},
    )
    assert ticket.created_at == NOW and ticket.deliveries == ()
    assert ledger.claim_with_ticket(did, "other", 30, NOW + 1) is None  # held by w


def test_how_a_ticket_renders_is_kept_with_it(ledger: Ledger) -> None:
    render = {"format": "text", "priority": "urgent", "url": "https://ci.example.com/r/1", "source": "app · main"}
    record, _ = ledger.create_ticket(new(channels=("ntfy",), **render))
    assert {k: getattr(record, k) for k in render} == render
    claimed = ledger.claim_with_ticket(record.deliveries[0].id, "w", 30, NOW)
    assert claimed is not None and {k: getattr(claimed[1], k) for k in render} == render
    plain, _ = ledger.create_ticket(new("tk-2", channels=()))
    assert (plain.format, plain.priority, plain.url, plain.source) == ("markdown", None, None, None)
    assert ledger.run_tickets("run-1")[0] == ledger.get_ticket("tk-1")


def undo_attention_schema(conn: Any) -> None:
    """Take back migration 6 (the attention rules' columns and table), for tests of older schemas."""
    conn.execute("DROP INDEX deliveries_held")
    conn.execute("DROP TABLE turns")
    conn.execute("ALTER TABLE tickets DROP COLUMN route")
    for column in ("hold", "note"):
        conn.execute(f"ALTER TABLE deliveries DROP COLUMN {column}")


def test_tickets_written_before_rendering_existed_read_as_markdown(ledger: Ledger) -> None:
    from mcp_push.storage.sql import SqlLedger

    assert isinstance(ledger, SqlLedger)
    with ledger._write() as conn:  # back to schema 4, with a ticket as that version wrote it
        undo_attention_schema(conn)
        for column in ("format", "priority", "url", "source"):
            conn.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
        conn.execute(
            "INSERT INTO tickets (ticket, run_id, title, content, created_at) VALUES (?, ?, ?, ?, ?)",
            ("tk-old", "run-old", "Old", "**body**", NOW),
        )
        if isinstance(ledger, SqliteLedger):
            ledger._set_schema_version(conn, 4)
        else:  # PostgreSQL keeps a row per applied version
            conn.execute("DELETE FROM schema_version WHERE version > 4")
    where = getattr(ledger, "path", None) or ledger.url  # type: ignore[attr-defined]
    again = type(ledger)(where)
    try:
        old = again.get_ticket("tk-old")
        assert old is not None and (old.content, old.format, old.priority, old.url, old.source) == (
            "**body**",
            "markdown",
            None,
            None,
            None,
        )
        assert again.create_ticket(new("tk-new", format="text", url="https://x.example/"))[0].format == "text"
    finally:
        again.close()


def test_settle_writes_the_attempt_and_the_outcome_together(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("telegram", "ntfy", "bark", "slack")))
    ok, retry, failed, lost = (d.id for d in record.deliveries)
    for did in (ok, retry, failed, lost):
        ledger.claim(did, "w", 10, NOW)
    ledger.settle(ok, "w", NOW, NOW + 1, "delivered", None, status="delivered", provider_id="4242")
    ledger.settle(retry, "w", NOW, NOW + 1, "transient", "HTTP 502", status="retrying", next_attempt_at=NOW + 60)
    ledger.settle(failed, "w", NOW, NOW + 1, "transient", "503", status="failed", last_error="gave up: 503")
    ledger.claim(lost, "other", 10, NOW + 11)  # our lease expired and another worker took it
    ledger.settle(lost, "w", NOW, NOW + 12, "transient", "late 503", status="retrying", next_attempt_at=NOW + 60)
    d = {did: ledger.get_delivery(did) for did in (ok, retry, failed, lost)}
    assert all(x is not None for x in d.values())
    assert (d[ok].status, d[ok].attempts, d[ok].provider_id, d[ok].delivered_at) == ("delivered", 1, "4242", NOW + 1)
    assert (d[retry].status, d[retry].next_attempt_at, d[retry].last_error) == ("retrying", NOW + 60, "HTTP 502")
    assert (d[failed].status, d[failed].last_error, d[failed].lease_owner) == ("failed", "gave up: 503", None)
    assert (d[lost].status, d[lost].lease_owner, d[lost].attempts) == ("in_flight", "other", 1)  # counted, not settled
    timeline = [(t.channel, t.outcome, t.error) for t in ledger.attempts("tk-1")]
    assert timeline == [
        ("telegram", "delivered", None),
        ("ntfy", "transient", "HTTP 502"),
        ("bark", "transient", "503"),
        ("slack", "transient", "late 503"),
    ]
    with pytest.raises(ValueError):
        ledger.settle(ok, "w", NOW, NOW, "delivered", None, status="in_flight")


def test_a_success_is_settled_even_after_the_lease_was_lost(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(new(channels=("ntfy",)))
    did = record.deliveries[0].id
    ledger.claim(did, "slow", 10, NOW)
    ledger.claim(did, "other", 10, NOW + 11)
    ledger.settle(did, "slow", NOW, NOW + 12, "delivered", None, status="delivered", provider_id="m-1")
    d = ledger.get_delivery(did)
    assert d and (d.status, d.provider_id, d.lease_owner) == ("delivered", "m-1", None)


def test_a_newer_schema_is_reported_and_left_alone(ledger: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    from mcp_push.storage.sql import MIGRATIONS, SqlLedger

    assert isinstance(ledger, SqlLedger)
    with ledger._write() as conn:
        ledger._set_schema_version(conn, len(MIGRATIONS) + 1)  # as a newer mcp-push would leave it
    where = getattr(ledger, "path", None) or ledger.url  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="mcp_push.storage.sql"):
        again = type(ledger)(where)
    try:
        assert f"newer than this mcp-push knows ({len(MIGRATIONS)})" in caplog.text
        assert again.create_ticket(new("tk-after"))[1]  # still usable
    finally:
        again.close()


# --- asks: the first answer wins ------------------------------------------------------------


def ask_ticket(ticket: str = "tk-ask", *, expires_at: float = NOW + 600, **kw) -> NewTicket:
    from mcp_push.storage.base import NewAsk

    ask = NewAsk("Deploy to prod?", ("Allow", "Deny"), allow_text=kw.pop("allow_text", False), expires_at=expires_at)
    return new(ticket, event="ask", ask=ask, **kw)


def test_an_ask_is_written_with_its_ticket(ledger: Ledger) -> None:
    record, created = ledger.create_ticket(ask_ticket(allow_text=True))
    assert created and record.event == "ask"
    ask = ledger.get_ask("tk-ask")
    assert ask is not None
    assert (ask.ticket, ask.run_id, ask.question, ask.choices, ask.allow_text) == (
        "tk-ask",
        "run-1",
        "Deploy to prod?",
        ("Allow", "Deny"),
        True,
    )
    assert (ask.status, ask.kind, ask.created_at, ask.expires_at) == ("waiting", "question", NOW, NOW + 600)
    assert (ask.answer, ask.choice, ask.answered_via, ask.answered_at, ask.closed_at) == (None,) * 5
    assert ledger.get_ask("tk-1") is None  # no such ticket
    ledger.create_ticket(new("tk-plain"))
    assert ledger.get_ask("tk-plain") is None  # a plain notification is not an ask


def test_an_ask_is_not_written_twice_under_the_same_idempotency_key(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket("tk-a", idempotency_key="k"))
    again, created = ledger.create_ticket(ask_ticket("tk-b", idempotency_key="k"))
    assert not created and again.ticket == "tk-a"
    assert ledger.get_ask("tk-b") is None
    assert [a.ticket for a in ledger.waiting_asks(NOW)] == ["tk-a"]


def test_a_failed_ticket_write_leaves_no_ask(ledger: Ledger) -> None:
    import sqlite3

    errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    if type(ledger).__name__ == "PostgresLedger":
        import psycopg

        errors = (psycopg.IntegrityError,)
    with pytest.raises(errors):  # one channel twice: all rolls back
        ledger.create_ticket(ask_ticket("tk-ask", channels=("bark", "bark")))
    assert ledger.get_ticket("tk-ask") is None and ledger.get_ask("tk-ask") is None
    assert ledger.waiting_asks(NOW) == []


def test_the_first_answer_wins_and_the_rest_are_refused(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket())
    assert ledger.answer_ask("tk-ask", answer="Allow", choice=0, via="telegram", by="42", now=NOW + 5)
    assert not ledger.answer_ask("tk-ask", answer="Deny", choice=1, via="ntfy", by="ntfy", now=NOW + 6)
    assert not ledger.end_ask("tk-ask", "cancelled", NOW + 7)
    ask = ledger.get_ask("tk-ask")
    assert ask is not None
    assert (ask.status, ask.answer, ask.choice, ask.answered_via, ask.answered_by) == (
        "answered",
        "Allow",
        0,
        "telegram",
        "42",
    )
    assert ask.answered_at == ask.ended_at == NOW + 5
    assert not ledger.answer_ask("tk-nope", answer="x", choice=None, via="cli", by=None, now=NOW)


def test_racing_answerers_in_two_connections_exactly_one_wins(ledger: Ledger) -> None:
    """Sixteen answerers at once, half through a second ledger object (its own connections)."""
    from mcp_push.storage.sql import SqlLedger

    assert isinstance(ledger, SqlLedger)
    ledger.create_ticket(ask_ticket())
    other = type(ledger)(getattr(ledger, "path", None) or ledger.url)  # type: ignore[attr-defined]
    try:
        winners: list[int] = []
        lock = threading.Lock()
        barrier = threading.Barrier(16)

        def answer(i: int) -> None:
            backend = ledger if i % 2 else other
            barrier.wait()
            won = backend.answer_ask("tk-ask", answer=f"text {i}", choice=None, via=f"path-{i}", by=str(i), now=NOW + 1)
            if won:
                with lock:
                    winners.append(i)

        threads = [threading.Thread(target=answer, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        for backend in (ledger, other):
            ask = backend.get_ask("tk-ask")
            assert ask and ask.answer == f"text {winners[0]}" and ask.answered_via == f"path-{winners[0]}"
    finally:
        other.close()


def test_an_answer_after_the_deadline_is_refused(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket(expires_at=NOW + 10))
    assert not ledger.answer_ask("tk-ask", answer="Allow", choice=0, via="link", by=None, now=NOW + 10)
    ask = ledger.get_ask("tk-ask")
    assert ask and ask.status == "waiting"  # until someone expires it
    assert ledger.waiting_asks(NOW + 9) and not ledger.waiting_asks(NOW + 10)


def test_cancel_and_expire_end_only_waiting_asks(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket("tk-cancel"))
    ledger.create_ticket(ask_ticket("tk-late", expires_at=NOW + 10, created_at=NOW + 1))
    ledger.create_ticket(ask_ticket("tk-answered", expires_at=NOW + 10, created_at=NOW + 2))
    ledger.create_ticket(ask_ticket("tk-open", expires_at=NOW + 100, created_at=NOW + 3))
    assert ledger.answer_ask("tk-answered", answer="Deny", choice=1, via="cli", by=None, now=NOW + 5)
    assert ledger.end_ask("tk-cancel", "cancelled", NOW + 6)
    assert not ledger.end_ask("tk-cancel", "cancelled", NOW + 7)  # already ended
    with pytest.raises(ValueError):
        ledger.end_ask("tk-open", "answered", NOW)
    assert [a.ticket for a in ledger.waiting_asks(NOW + 8)] == ["tk-late", "tk-open"]
    assert ledger.expire_asks(NOW + 20) == ["tk-late"]
    assert ledger.expire_asks(NOW + 21) == []
    states = {t: ledger.get_ask(t) for t in ("tk-cancel", "tk-late", "tk-answered", "tk-open")}
    assert {t: (a.status if a else None) for t, a in states.items()} == {
        "tk-cancel": "cancelled",
        "tk-late": "expired",
        "tk-answered": "answered",
        "tk-open": "waiting",
    }
    assert states["tk-late"] and states["tk-late"].ended_at == NOW + 20
    assert states["tk-cancel"] and states["tk-cancel"].answer is None


def test_ended_asks_are_closed_once(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket("tk-a"))
    ledger.create_ticket(ask_ticket("tk-b", created_at=NOW + 1))
    ledger.create_ticket(ask_ticket("tk-waiting", created_at=NOW + 2))
    assert ledger.asks_to_close() == []
    ledger.end_ask("tk-b", "cancelled", NOW + 3)
    ledger.answer_ask("tk-a", answer="Allow", choice=0, via="telegram", by="42", now=NOW + 4)
    assert [a.ticket for a in ledger.asks_to_close()] == ["tk-b", "tk-a"]  # in the order they ended
    ledger.mark_ask_closed("tk-b", NOW + 5)
    ledger.mark_ask_closed("tk-waiting", NOW + 5)  # a waiting ask has nothing to close
    assert [a.ticket for a in ledger.asks_to_close()] == ["tk-a"]
    closed = ledger.get_ask("tk-b")
    assert closed and closed.closed_at == NOW + 5
    waiting = ledger.get_ask("tk-waiting")
    assert waiting and waiting.closed_at is None


def test_a_delivery_is_found_by_its_provider_id(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(ask_ticket(channels=("telegram", "ntfy")))
    tg, nt = (d.id for d in record.deliveries)
    for did, pid in ((tg, "4242"), (nt, "4242")):
        ledger.claim(did, "w", 30, NOW)
        ledger.settle(did, "w", NOW, NOW + 1, "delivered", None, status="delivered", provider_id=pid)
    found = ledger.delivery_by_provider_id("telegram", "4242")
    assert found and (found.id, found.ticket) == (tg, "tk-ask")
    other = ledger.delivery_by_provider_id("ntfy", "4242")
    assert other and other.id == nt
    assert ledger.delivery_by_provider_id("telegram", "1") is None


def test_purge_keeps_waiting_asks_and_removes_ended_ones_with_their_tickets(ledger: Ledger) -> None:
    ledger.create_ticket(ask_ticket("tk-waiting", channels=(), created_at=NOW - 1000, expires_at=NOW + 600))
    ledger.create_ticket(ask_ticket("tk-ended", channels=(), created_at=NOW - 1000))
    ledger.end_ask("tk-ended", "cancelled", NOW - 900)
    assert ledger.purge(NOW - 10) == 1
    assert ledger.get_ask("tk-ended") is None and ledger.get_ticket("tk-ended") is None
    assert ledger.get_ask("tk-waiting") is not None
    ledger.end_ask("tk-waiting", "expired", NOW)
    assert ledger.purge(NOW - 10) == 1
    assert ledger.get_ticket("tk-waiting") is None


# --- leases and cursors ----------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_runs_out(ledger: Ledger) -> None:
    assert ledger.acquire_lease("telegram:abc", "w1", 30, NOW)
    assert not ledger.acquire_lease("telegram:abc", "w2", 30, NOW + 10)
    assert ledger.acquire_lease("telegram:abc", "w1", 30, NOW + 20)  # renewed until NOW + 50
    assert not ledger.acquire_lease("telegram:abc", "w2", 30, NOW + 49)
    assert ledger.acquire_lease("other", "w2", 30, NOW)  # another name is another lease
    assert ledger.acquire_lease("telegram:abc", "w2", 30, NOW + 50)  # expired: taken over
    assert not ledger.acquire_lease("telegram:abc", "w1", 30, NOW + 51)
    ledger.release_lease("telegram:abc", "w1")  # not w1's any more: no effect
    assert not ledger.acquire_lease("telegram:abc", "w1", 30, NOW + 52)
    ledger.release_lease("telegram:abc", "w2")
    assert ledger.acquire_lease("telegram:abc", "w1", 30, NOW + 53)


def test_racing_lease_takers_exactly_one_wins(ledger: Ledger) -> None:
    ledger.acquire_lease("ntfy:reply", "dead", 10, NOW)
    winners: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def take(owner: str) -> None:
        barrier.wait()
        if ledger.acquire_lease("ntfy:reply", owner, 30, NOW + 11):  # the dead holder's lease ran out
            with lock:
                winners.append(owner)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert ledger.acquire_lease("ntfy:reply", winners[0], 30, NOW + 12)


def test_cursor_round_trip(ledger: Ledger) -> None:
    assert ledger.cursor_get("telegram:abc:offset") is None
    ledger.cursor_put("telegram:abc:offset", "1001", NOW)
    ledger.cursor_put("ntfy:reply:since", "hJ4kL", NOW)
    assert ledger.cursor_get("telegram:abc:offset") == "1001"
    ledger.cursor_put("telegram:abc:offset", "1002", NOW + 1)
    assert ledger.cursor_get("telegram:abc:offset") == "1002"
    assert ledger.cursor_get("ntfy:reply:since") == "hJ4kL"
    ledger.purge(NOW + 10_000)  # a position is never purged
    assert ledger.cursor_get("telegram:abc:offset") == "1002"
