"""release_due(): what the rules held, released on an injected clock against a real SQLite ledger.

The notifications are written as the Notifier writes them (``plan`` decides, the ticket carries
its holds); ``release_due`` is then called at chosen instants, before and at the release time."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.attention.plan import FINISHED, plan
from mcp_push.attention.release import release_due
from mcp_push.attention.rules import Rules, load_rules
from mcp_push.storage import NewTicket, SqliteLedger, TicketRecord
from mcp_push.storage.base import NewAsk
from mcp_push.views import ASK_ANSWERED, DROPPED, FOLDED, HELD, PENDING
from tests.attention.test_plan import ENABLED, MORNING, NIGHT, NOON
from tests.attention.test_rules import CHANNELS

SOURCE = "demo · main · host · claude"
_numbers = itertools.count(1)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    opened = SqliteLedger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def rules(**env: str) -> Rules:
    return load_rules({**CHANNELS, "MCP_PUSH_TZ": "Europe/Berlin", **env})


def write(
    ledger: SqliteLedger,
    found: Rules,
    *,
    kind: str = "end",
    at: float,
    run_id: str = "run-1",
    title: str | None = None,
    stop: str | None = None,
    channels: tuple[str, ...] = ("ntfy", "telegram"),
) -> TicketRecord:
    """One notification, decided by ``plan`` and written as the Notifier writes it."""
    number = next(_numbers)
    decision = plan(found, kind=kind, level="normal", requested=None, enabled=channels, now=at, stop=stop)
    ask = NewAsk("Deploy?", ("Yes", "No"), False, at + 3600) if kind == "ask" else None
    record, _ = ledger.create_ticket(
        NewTicket(
            f"tk-{number:04d}",
            run_id,
            title or f"note {number}",
            f"body {number}",
            at,
            decision.channels,
            None if kind == "send" else kind,
            ask=ask,
            source=SOURCE,
            route=decision.route,
            holds=decision.holds,
        )
    )
    return record


def statuses(ledger: SqliteLedger, record: TicketRecord) -> dict[str, str]:
    fresh = ledger.get_ticket(record.ticket)
    assert fresh is not None
    return {d.channel: d.status for d in fresh.deliveries}


def tickets_of(ledger: SqliteLedger, run_id: str) -> list[TicketRecord]:
    return ledger.run_tickets(run_id)


# --- quiet hours ---------------------------------------------------------------------------------------


def test_quiet_hours_end_with_one_digest_per_channel_and_errors_went_through(ledger: SqliteLedger) -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00")
    held = [write(ledger, found, at=NIGHT + i * 60, title=f"build {i} finished") for i in range(3)]
    error = write(ledger, found, kind="error", at=NIGHT + 300)
    assert statuses(ledger, error) == {"ntfy": PENDING, "telegram": PENDING}  # error bypasses quiet hours
    assert all(set(statuses(ledger, r).values()) == {HELD} for r in held)
    assert ledger.next_release() == MORNING

    assert release_due(ledger, found, MORNING - 1) == []  # not before the window ends
    pending = release_due(ledger, found, MORNING)
    assert len(pending) == 2  # one digest delivery per channel

    digests = tickets_of(ledger, "digest-20260702-0800")
    assert sorted(d.deliveries[0].channel for d in digests) == ["ntfy", "telegram"]
    for digest in digests:
        assert digest.title == "🌙 3 notifications while you were away"
        lines = digest.content.splitlines()
        assert lines == [f"- 23:{30 + i} · build {i} finished: body {n} · end · {SOURCE}" for i, n in
                         enumerate(int(r.ticket[3:]) for r in held)]  # fmt: skip
        assert digest.route == "MCP_PUSH_QUIET digest"
        assert [d.status for d in digest.deliveries] == [PENDING]
    for record in held:
        fresh = ledger.get_ticket(record.ticket)
        assert fresh is not None
        assert {d.status for d in fresh.deliveries} == {FOLDED}
        notes = {d.channel: d.note for d in fresh.deliveries}
        by_channel = {d.deliveries[0].channel: d.ticket for d in digests}
        assert all(by_channel[c] in (note or "") for c, note in notes.items())
    assert release_due(ledger, found, MORNING + 1) == []  # nothing is released twice
    assert ledger.next_release() is None


def test_a_lone_quiet_notification_is_sent_as_itself(ledger: SqliteLedger) -> None:
    found = rules(MCP_PUSH_QUIET="22:00-08:00")
    record = write(ledger, found, at=NIGHT, channels=("ntfy",))
    assert release_due(ledger, found, MORNING) == [record.deliveries[0].id]
    fresh = ledger.get_ticket(record.ticket)
    assert fresh is not None and fresh.deliveries[0].status == PENDING
    assert fresh.deliveries[0].note == "sent at 08:00, the end of quiet hours"
    assert tickets_of(ledger, "digest-20260702-0800") == []


def test_quiet_hours_hold_across_a_new_ledger_object(ledger: SqliteLedger, tmp_path: Path) -> None:
    """Held pushes live in the ledger: another process (a new ledger on the same file) releases them."""
    found = rules(MCP_PUSH_QUIET="22:00-08:00")
    write(ledger, found, at=NIGHT)
    write(ledger, found, at=NIGHT + 60)
    other = SqliteLedger(tmp_path / "ledger.sqlite3")
    try:
        assert len(release_due(other, found, MORNING)) == 2
    finally:
        other.close()
    assert release_due(ledger, found, MORNING) == []


# --- digest of progress ---------------------------------------------------------------------------------


def test_a_runs_progress_is_folded_once_per_window(ledger: SqliteLedger) -> None:
    found = rules(MCP_PUSH_DIGEST_SECONDS="30")
    first = [write(ledger, found, kind="update", at=NOON + t, title=f"step {t}") for t in (0, 5, 10)]
    other_run = write(ledger, found, kind="update", at=NOON + 2, run_id="run-2")
    end = write(ledger, found, kind="end", at=NOON + 12)
    assert set(statuses(ledger, end).values()) == {PENDING}  # only start/update are folded

    assert release_due(ledger, found, NOON + 29) == []
    pending = release_due(ledger, found, NOON + 30)
    assert len(pending) == 2  # run-1 on ntfy and telegram: one digest each; run-2 not yet due
    digests = [t for t in tickets_of(ledger, "run-1") if t.route == "MCP_PUSH_DIGEST_SECONDS digest"]
    assert len(digests) == 2
    assert digests[0].title == "⏳ 3 updates · step 10"
    assert len(digests[0].content.splitlines()) == 3
    assert all(set(statuses(ledger, r).values()) == {FOLDED} for r in first)  # the later ones too
    assert set(statuses(ledger, other_run).values()) == {HELD}

    later = write(ledger, found, kind="update", at=NOON + 40, title="step 40")
    release_due(ledger, found, NOON + 32)  # run-2's window: alone, sent as itself
    assert set(statuses(ledger, other_run).values()) == {PENDING}
    assert release_due(ledger, found, NOON + 69) == []
    assert len(release_due(ledger, found, NOON + 70)) == 2  # the next window: step 40 alone
    fresh = ledger.get_ticket(later.ticket)
    assert fresh is not None and {d.note for d in fresh.deliveries} == {"sent alone: no other progress to fold with"}


# --- stop delay -------------------------------------------------------------------------------------


def test_a_turn_end_nobody_came_back_to_is_sent_after_the_delay(ledger: SqliteLedger) -> None:
    found = rules(MCP_PUSH_STOP_DELAY="45")
    record = write(ledger, found, at=NOON, stop=FINISHED)
    assert set(statuses(ledger, record).values()) == {HELD}
    assert release_due(ledger, found, NOON + 44) == []
    assert len(release_due(ledger, found, NOON + 45)) == 2
    fresh = ledger.get_ticket(record.ticket)
    assert fresh is not None
    note = "sent at 12:00:45: nobody came back within 45 s (MCP_PUSH_STOP_DELAY)"
    assert {d.note for d in fresh.deliveries} == {note}


def test_a_turn_end_dropped_when_the_person_came_back_is_never_released(ledger: SqliteLedger) -> None:
    found = rules(MCP_PUSH_STOP_DELAY="45")
    record = write(ledger, found, at=NOON, stop=FINISHED)
    ids = [h.delivery.id for h in ledger.held(run_id="run-1")]
    assert ledger.drop_held(ids, "dropped: you were back", NOON + 10) == sorted(ids)
    assert release_due(ledger, found, NOON + 45) == []
    assert set(statuses(ledger, record).values()) == {DROPPED}


# --- escalation -------------------------------------------------------------------------------------


def escalating() -> Rules:
    return rules(MCP_PUSH_ASK_ESCALATE="telegram; ntfy @120")


def test_tier_two_is_sent_only_if_the_ask_still_waits(ledger: SqliteLedger) -> None:
    found = escalating()
    record = write(ledger, found, kind="ask", at=NOON, channels=ENABLED)
    assert statuses(ledger, record) == {"telegram": PENDING, "ntfy": HELD}
    assert release_due(ledger, found, NOON + 119) == []
    tier2 = [d.id for d in record.deliveries if d.channel == "ntfy"]
    assert release_due(ledger, found, NOON + 120) == tier2
    fresh = ledger.get_ticket(record.ticket)
    assert fresh is not None
    assert [d.note for d in fresh.deliveries if d.channel == "ntfy"] == [
        "escalated at 12:02:00: the ask was still unanswered"
    ]


def test_an_answer_on_tier_one_means_tier_two_is_never_sent(ledger: SqliteLedger) -> None:
    found = escalating()
    record = write(ledger, found, kind="ask", at=NOON, channels=ENABLED)
    assert ledger.answer_ask(record.ticket, answer="Yes", choice=0, via="telegram", by=None, now=NOON + 30)
    assert release_due(ledger, found, NOON + 120) == []
    assert statuses(ledger, record)["ntfy"] == DROPPED
    ask = ledger.get_ask(record.ticket)
    assert ask is not None and ask.status == ASK_ANSWERED


def test_a_tier_left_held_after_its_ask_ended_is_dropped_at_release(ledger: SqliteLedger, tmp_path: Path) -> None:
    """Belt and braces: should an ask end without dropping its tiers, the release drops them."""
    found = escalating()
    record = write(ledger, found, kind="ask", at=NOON, channels=ENABLED)
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:  # a writer that left its tier held
        conn.execute("UPDATE asks SET status = 'expired' WHERE ticket = ?", (record.ticket,))
    assert release_due(ledger, found, NOON + 120) == []
    fresh = ledger.get_ticket(record.ticket)
    assert fresh is not None
    tier = next(d for d in fresh.deliveries if d.channel == "ntfy")
    assert (tier.status, tier.note) == (DROPPED, "not sent: the ask was expired before this tier was due")


def test_an_ask_held_by_quiet_hours_is_sent_as_itself_never_a_digest_line(ledger: SqliteLedger) -> None:
    """With ``ask`` taken out of the bypass, a held ask keeps its buttons: it is not folded."""
    found = rules(MCP_PUSH_QUIET="22:00-08:00", MCP_PUSH_QUIET_BYPASS="error")
    asked = write(ledger, found, kind="ask", at=NIGHT, channels=("ntfy",))
    write(ledger, found, at=NIGHT + 60, channels=("ntfy",))
    write(ledger, found, at=NIGHT + 120, channels=("ntfy",))
    assert set(statuses(ledger, asked).values()) == {HELD}
    pending = release_due(ledger, found, MORNING)
    assert asked.deliveries[0].id in pending and len(pending) == 2  # the ask, and one digest of the other two
    (digest,) = tickets_of(ledger, "digest-20260702-0800")
    assert digest.title == "🌙 2 notifications while you were away" and "Deploy?" not in digest.content
