"""The attention rules' ledger contract: held deliveries, their release, drop and fold, turns.

An attention rule (quiet hours, digests, the stop delay, ask escalation) writes a delivery
``held`` instead of pending; every worker on every host then decides, through the ledger
alone, whether it is released, dropped or folded into a digest. These tests pin what every
backend must do for that to be safe: a held delivery is never claimed or swept, each move
happens at most once (also when two ledger objects race for it), a fold is all-or-nothing,
an ended ask takes its unsent escalation tiers with it, and retention never removes a ticket
that still waits for its release. They run against each backend (``conftest.ledger``).
"""

from __future__ import annotations

import threading

from mcp_push.storage import Ledger, NewTicket
from mcp_push.storage.base import Hold, TicketRecord
from mcp_push.views import (
    ASK_ANSWERED,
    ASK_CANCELLED,
    ASK_EXPIRED,
    DROPPED,
    FOLDED,
    HELD,
    HOLD_DIGEST,
    HOLD_ESCALATE,
    HOLD_QUIET,
    HOLD_STOP,
    IN_FLIGHT,
    PENDING,
)
from tests.storage.test_ledger_contract import NOW, ask_ticket, new


def ids_by_channel(record: TicketRecord) -> dict[str, int]:
    return {d.channel: d.id for d in record.deliveries}


def write_held(
    ledger: Ledger,
    ticket: str,
    channel: str = "ntfy",
    *,
    kind: str = HOLD_DIGEST,
    until: float = NOW + 300,
    note: str = "held for the digest",
    **kw,
) -> int:
    """Write a ticket whose one delivery (on ``channel``) is held; return that delivery's id."""
    record, created = ledger.create_ticket(
        new(ticket, channels=(channel,), holds={channel: Hold(kind, until, note)}, **kw)
    )
    assert created and record.deliveries[0].status == HELD
    return record.deliveries[0].id


def digest(ticket: str = "tk-digest", channels: tuple[str, ...] = ("ntfy",), at: float = NOW + 300) -> NewTicket:
    return NewTicket(ticket, "run-1", "Digest", "2 updates", at, channels, event="update", route="digest")


def digest_count(ledger: Ledger) -> int:
    return sum(1 for t in ledger.run_tickets("run-1") if t.route == "digest")


# --- 1. what a held delivery is ------------------------------------------------------------


def test_a_held_delivery_is_recorded_with_its_rule_and_release_time(ledger: Ledger) -> None:
    holds = {
        "ntfy": Hold(HOLD_QUIET, NOW + 600, "held for quiet hours until 08:00"),
        "telegram": Hold(HOLD_DIGEST, NOW + 300, "held for the 5 min digest"),
    }
    record, _ = ledger.create_ticket(
        new(channels=("ntfy", "telegram", "bark"), holds=holds, route="MCP_PUSH_ROUTE_UPDATE", event="update")
    )
    assert ledger.get_ticket("tk-1") == record
    assert record.route == "MCP_PUSH_ROUTE_UPDATE"
    got = {d.channel: (d.status, d.hold, d.note, d.next_attempt_at) for d in record.deliveries}
    assert got == {
        "ntfy": (HELD, HOLD_QUIET, "held for quiet hours until 08:00", NOW + 600),
        "telegram": (HELD, HOLD_DIGEST, "held for the 5 min digest", NOW + 300),
        "bark": (PENDING, None, None, None),
    }
    assert ledger.unfinished_count() == 3  # held is not settled


def test_a_held_delivery_is_never_claimed_nor_swept(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(
        new(channels=("ntfy", "bark"), holds={"ntfy": Hold(HOLD_QUIET, NOW + 600, "quiet")})
    )
    ids = ids_by_channel(record)
    late = NOW + 10_000  # long after its release time: only release_held makes it claimable
    assert ledger.claim(ids["ntfy"], "w", 30, NOW) is None
    assert ledger.claim(ids["ntfy"], "w", 30, late) is None
    assert ledger.claim_with_ticket(ids["ntfy"], "w", 30, late) is None
    assert ledger.due_for_sweep(late, stale_after=30) == [ids["bark"]]
    assert ledger.due_for_sweep(late, stale_after=30, unclaimed=False) == []
    assert ledger.release_owner("w", late) == []
    assert ledger.requeue_failed(late) == []
    d = ledger.get_delivery(ids["ntfy"])
    assert d and (d.status, d.lease_owner, d.attempts, d.next_attempt_at) == (HELD, None, 0, NOW + 600)


def test_held_lists_filter_by_release_time_run_and_rule(ledger: Ledger) -> None:
    assert ledger.held() == [] and ledger.next_release() is None
    quiet = write_held(ledger, "tk-quiet", kind=HOLD_QUIET, until=NOW + 600, note="quiet")
    dig = write_held(ledger, "tk-digest-src", "telegram", kind=HOLD_DIGEST, until=NOW + 300)
    stop = write_held(
        ledger,
        "tk-stop",
        kind=HOLD_STOP,
        until=NOW + 450,
        note="stop delay",
        run_id="run-2",
        event="stop",
        source="app · main",
        priority="high",
        url="https://ci.example/1",
        format="text",
    )
    ledger.create_ticket(new("tk-plain", channels=("ntfy",)))  # pending: never listed
    assert ledger.next_release() == NOW + 300
    everything = ledger.held()
    assert [h.delivery.id for h in everything] == [dig, stop, quiet]  # release time order
    first = everything[1]
    assert (first.run_id, first.event, first.title, first.content, first.created_at) == (
        "run-2",
        "stop",
        "Title",
        "Content",
        NOW,
    )
    assert (first.source, first.priority, first.url, first.format) == (
        "app · main",
        "high",
        "https://ci.example/1",
        "text",
    )
    assert (first.delivery.status, first.delivery.hold, first.delivery.note) == (HELD, HOLD_STOP, "stop delay")
    assert [h.delivery.id for h in ledger.held(due_by=NOW + 299)] == []
    assert [h.delivery.id for h in ledger.held(due_by=NOW + 300)] == [dig]  # inclusive
    assert [h.delivery.id for h in ledger.held(due_by=NOW + 450)] == [dig, stop]
    assert [h.delivery.id for h in ledger.held(run_id="run-1")] == [dig, quiet]
    assert [h.delivery.id for h in ledger.held(run_id="run-2")] == [stop]
    assert [h.delivery.id for h in ledger.held(hold=HOLD_QUIET)] == [quiet]
    assert [h.delivery.id for h in ledger.held(hold=HOLD_ESCALATE)] == []
    assert [h.delivery.id for h in ledger.held(due_by=NOW + 1000, run_id="run-1", hold=HOLD_DIGEST)] == [dig]
    assert ledger.held(run_id="run-nope") == []
    ledger.release_held([dig], "released", NOW + 300)
    assert ledger.next_release() == NOW + 450  # the released one no longer counts
    ledger.drop_held([stop, quiet], "dropped", NOW + 301)
    assert ledger.next_release() is None and ledger.held() == []


# --- 2. release and drop ----------------------------------------------------------------------


def test_release_moves_only_held_deliveries_once_and_makes_them_claimable(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(
        new(channels=("ntfy", "bark"), holds={"ntfy": Hold(HOLD_QUIET, NOW + 600, "held for quiet hours")})
    )
    ids = ids_by_channel(record)
    assert ledger.release_held([ids["ntfy"], ids["bark"], 999_999], "quiet hours ended", NOW + 600) == [ids["ntfy"]]
    assert ledger.release_held([ids["ntfy"]], "again", NOW + 601) == []
    d = ledger.get_delivery(ids["ntfy"])
    assert d and (d.status, d.note, d.hold) == (PENDING, "quiet hours ended", HOLD_QUIET)  # the rule stays named
    assert d.next_attempt_at is None and d.updated_at == NOW + 600
    bark = ledger.get_delivery(ids["bark"])
    assert bark and (bark.status, bark.note, bark.hold) == (PENDING, None, None)  # not held: untouched
    assert ledger.drop_held([ids["ntfy"]], "too late", NOW + 602) == []  # released: no longer held
    claimed = ledger.claim(ids["ntfy"], "w", 30, NOW + 602)
    assert claimed and (claimed.status, claimed.lease_owner) == (IN_FLIGHT, "w")
    assert ledger.release_held([], "nothing", NOW) == []


def test_drop_settles_a_held_delivery_once(ledger: Ledger) -> None:
    record, _ = ledger.create_ticket(
        new(
            channels=("ntfy", "telegram"),
            holds={
                "ntfy": Hold(HOLD_STOP, NOW + 60, "held: the person may come back"),
                "telegram": Hold(HOLD_STOP, NOW + 60, "held: the person may come back"),
            },
            created_at=NOW - 1000,
        )
    )
    ids = ids_by_channel(record)
    other = write_held(ledger, "tk-other", until=NOW + 60)
    assert ledger.unfinished_count() == 3  # held: unfinished, so a drain worker stays for it
    assert ledger.oldest_unfinished() is None  # but no stuck backlog: it waits by design
    moved = ledger.drop_held([ids["ntfy"], ids["telegram"]], "not sent: the person came back", NOW + 30)
    assert moved == sorted(ids.values())
    assert ledger.drop_held([ids["ntfy"]], "twice", NOW + 31) == []
    assert ledger.release_held([ids["telegram"]], "late release", NOW + 61) == []  # dropped stays dropped
    for did in ids.values():
        d = ledger.get_delivery(did)
        assert d and (d.status, d.note, d.hold) == (DROPPED, "not sent: the person came back", HOLD_STOP)
        assert (d.attempts, d.next_attempt_at, d.updated_at) == (0, None, NOW + 30)  # not an attempt
        assert ledger.claim(did, "w", 30, NOW + 100) is None
    assert ledger.attempts("tk-1") == []
    assert ledger.unfinished_count() == 1  # only tk-other's delivery: the dropped ones are settled
    assert ledger.release_held([other], "due", NOW + 60) == [other]
    assert ledger.oldest_unfinished() == NOW  # released: pending, and its age counts again
    assert ledger.get_delivery(other) and ledger.get_delivery(other).status == PENDING  # type: ignore[union-attr]


# --- 3. fold ---------------------------------------------------------------------------------


def test_fold_writes_the_digest_and_folds_its_sources(ledger: Ledger) -> None:
    a = write_held(ledger, "tk-a")
    b = write_held(ledger, "tk-b", created_at=NOW + 1)
    note = "folded into digest tk-digest"
    record = ledger.fold_held([b, a, a], digest(channels=("ntfy", "telegram")), note)
    assert record is not None and record.ticket == "tk-digest"
    assert record == ledger.get_ticket("tk-digest")
    assert (record.title, record.content, record.event, record.route) == ("Digest", "2 updates", "update", "digest")
    assert [(d.channel, d.status, d.hold) for d in record.deliveries] == [
        ("ntfy", PENDING, None),
        ("telegram", PENDING, None),
    ]
    for did in (a, b):
        d = ledger.get_delivery(did)
        assert d and (d.status, d.note, d.hold, d.next_attempt_at) == (FOLDED, note, HOLD_DIGEST, None)
        assert ledger.claim(did, "w", 30, NOW + 1000) is None
    assert ledger.held() == [] and ledger.next_release() is None
    assert ledger.unfinished_count() == 2  # the digest's two deliveries; folded ones are settled
    assert ledger.claim(record.deliveries[0].id, "w", 30, NOW + 300) is not None


def test_fold_happens_once(ledger: Ledger) -> None:
    a = write_held(ledger, "tk-a")
    b = write_held(ledger, "tk-b")
    assert ledger.fold_held([a, b], digest("tk-digest-1"), "folded into tk-digest-1") is not None
    assert ledger.fold_held([a, b], digest("tk-digest-2"), "folded into tk-digest-2") is None
    assert ledger.get_ticket("tk-digest-2") is None
    assert digest_count(ledger) == 1
    for did in (a, b):
        d = ledger.get_delivery(did)
        assert d and (d.status, d.note) == (FOLDED, "folded into tk-digest-1")


def test_fold_is_all_or_nothing(ledger: Ledger) -> None:
    a = write_held(ledger, "tk-a", note="held a")
    b = write_held(ledger, "tk-b", note="held b")
    c = write_held(ledger, "tk-c", note="held c")
    assert ledger.release_held([b], "released early", NOW + 10) == [b]
    assert ledger.fold_held([a, b, c], digest(), "folded into tk-digest") is None
    assert ledger.get_ticket("tk-digest") is None and digest_count(ledger) == 0
    states = {did: ledger.get_delivery(did) for did in (a, b, c)}
    assert {did: (d.status, d.note) if d else None for did, d in states.items()} == {
        a: (HELD, "held a"),
        b: (PENDING, "released early"),
        c: (HELD, "held c"),
    }
    assert [h.delivery.id for h in ledger.held()] == [a, c]
    assert ledger.fold_held([a, 999_999], digest(), "folded") is None  # an id that never existed
    assert ledger.get_ticket("tk-digest") is None
    assert ledger.fold_held([a, c], digest(), "folded into tk-digest") is not None  # what is still held folds
    assert digest_count(ledger) == 1


# --- 4. racing folders ------------------------------------------------------------------------


def fold_at_once(folders: dict[str, Ledger], ids: list[int], round_: int) -> dict[str, TicketRecord | None]:
    """Each named ledger folds ``ids`` into its own digest ticket, in threads released together."""
    results: dict[str, TicketRecord | None] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(folders))

    def fold(name: str, backend: Ledger) -> None:
        try:
            barrier.wait()
            results[name] = backend.fold_held(ids, digest(f"tk-digest-{round_}-{name}"), f"folded by {name}")
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=fold, args=item) for item in folders.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_racing_folders_in_two_ledger_objects_write_one_digest(ledger: Ledger) -> None:
    """Two workers (two ledger objects, each with its own connections) fold the same deliveries at once."""
    from mcp_push.storage.sql import SqlLedger

    assert isinstance(ledger, SqlLedger)
    other = type(ledger)(getattr(ledger, "path", None) or ledger.url)  # type: ignore[attr-defined]
    try:
        for round_ in range(5):  # a few rounds: each start order gets its chance
            ids = [write_held(ledger, f"tk-{round_}-{i}", created_at=NOW + round_) for i in range(3)]
            results = fold_at_once({"a": ledger, "b": other}, ids, round_)
            winners = [name for name, record in results.items() if record is not None]
            assert len(winners) == 1 and len(results) == 2, results
            written = [n for n in ("a", "b") if ledger.get_ticket(f"tk-digest-{round_}-{n}") is not None]
            assert written == winners
            for backend in (ledger, other):
                for did in ids:
                    d = backend.get_delivery(did)
                    assert d and (d.status, d.note) == (FOLDED, f"folded by {winners[0]}")
        assert digest_count(ledger) == 5
    finally:
        other.close()


# --- 5. an ended ask takes its escalation tiers with it ---------------------------------------


def escalating_ask(ledger: Ledger, ticket: str, *, expires_at: float = NOW + 600, **kw) -> dict[str, int]:
    """An ask sent on telegram at once, with ntfy (escalate) and bark (quiet hours) held."""
    holds = {
        "ntfy": Hold(HOLD_ESCALATE, NOW + 120, "tier 2: sent in 2 min if still unanswered"),
        "bark": Hold(HOLD_QUIET, NOW + 900, "held for quiet hours"),
    }
    record, created = ledger.create_ticket(
        ask_ticket(ticket, channels=("telegram", "ntfy", "bark"), holds=holds, expires_at=expires_at, **kw)
    )
    assert created
    return ids_by_channel(record)


def assert_tiers_dropped(ledger: Ledger, ids: dict[str, int], ended: str, now: float) -> None:
    tier = ledger.get_delivery(ids["ntfy"])
    assert tier and (tier.status, tier.hold, tier.next_attempt_at, tier.updated_at) == (
        DROPPED,
        HOLD_ESCALATE,
        None,
        now,
    )
    assert tier.note and "ask was" in tier.note and ended in tier.note, tier.note
    quiet = ledger.get_delivery(ids["bark"])  # held by another rule: not the ask's to drop
    assert quiet and (quiet.status, quiet.hold, quiet.note) == (HELD, HOLD_QUIET, "held for quiet hours")
    sent = ledger.get_delivery(ids["telegram"])
    assert sent and sent.status == PENDING


def assert_tiers_held(ledger: Ledger, ids: dict[str, int]) -> None:
    tier = ledger.get_delivery(ids["ntfy"])
    assert tier and (tier.status, tier.next_attempt_at) == (HELD, NOW + 120)


def test_answering_an_ask_drops_its_held_escalation_tiers(ledger: Ledger) -> None:
    ids = escalating_ask(ledger, "tk-ask")
    others = escalating_ask(ledger, "tk-other", created_at=NOW + 1)
    assert ledger.answer_ask("tk-ask", answer="Allow", choice=0, via="telegram", by="42", now=NOW + 30)
    assert_tiers_dropped(ledger, ids, ASK_ANSWERED, NOW + 30)
    assert_tiers_held(ledger, others)  # another ask's tier is not touched
    assert [h.delivery.id for h in ledger.held(hold=HOLD_ESCALATE)] == [others["ntfy"]]


def test_a_refused_answer_leaves_the_tiers_held(ledger: Ledger) -> None:
    ids = escalating_ask(ledger, "tk-ask", expires_at=NOW + 10)
    assert not ledger.answer_ask("tk-ask", answer="Allow", choice=0, via="telegram", by="42", now=NOW + 10)
    assert_tiers_held(ledger, ids)


def test_a_tier_released_before_the_answer_is_not_dropped(ledger: Ledger) -> None:
    ids = escalating_ask(ledger, "tk-ask")
    assert ledger.release_held([ids["ntfy"]], "tier 2: still unanswered", NOW + 120) == [ids["ntfy"]]
    assert ledger.answer_ask("tk-ask", answer="Deny", choice=1, via="ntfy", by="ntfy", now=NOW + 130)
    tier = ledger.get_delivery(ids["ntfy"])
    assert tier and (tier.status, tier.note) == (PENDING, "tier 2: still unanswered")


def test_cancelling_an_ask_drops_its_held_escalation_tiers(ledger: Ledger) -> None:
    ids = escalating_ask(ledger, "tk-ask")
    others = escalating_ask(ledger, "tk-other", created_at=NOW + 1)
    assert ledger.end_ask("tk-ask", ASK_CANCELLED, NOW + 40)
    assert_tiers_dropped(ledger, ids, ASK_CANCELLED, NOW + 40)
    assert_tiers_held(ledger, others)


def test_ending_an_ask_as_expired_drops_its_held_escalation_tiers(ledger: Ledger) -> None:
    ids = escalating_ask(ledger, "tk-ask")
    assert ledger.end_ask("tk-ask", ASK_EXPIRED, NOW + 50)
    assert_tiers_dropped(ledger, ids, ASK_EXPIRED, NOW + 50)


def test_expiring_asks_drops_their_held_escalation_tiers(ledger: Ledger) -> None:
    late = escalating_ask(ledger, "tk-late", expires_at=NOW + 60)
    also_late = escalating_ask(ledger, "tk-also-late", expires_at=NOW + 70, created_at=NOW + 1)
    still_open = escalating_ask(ledger, "tk-open", expires_at=NOW + 6000, created_at=NOW + 2)
    assert ledger.expire_asks(NOW + 100) == ["tk-also-late", "tk-late"]
    assert_tiers_dropped(ledger, late, ASK_EXPIRED, NOW + 100)
    assert_tiers_dropped(ledger, also_late, ASK_EXPIRED, NOW + 100)
    assert_tiers_held(ledger, still_open)


# --- 6. turns ---------------------------------------------------------------------------------


def test_the_latest_turn_wins(ledger: Ledger) -> None:
    assert ledger.turn_started("run-1") is None
    ledger.record_turn("run-1", NOW)
    assert ledger.turn_started("run-1") == NOW
    ledger.record_turn("run-1", NOW - 10)  # a late report of an older turn
    assert ledger.turn_started("run-1") == NOW
    ledger.record_turn("run-1", NOW)  # the same turn twice
    assert ledger.turn_started("run-1") == NOW
    ledger.record_turn("run-1", NOW + 5.25)
    assert ledger.turn_started("run-1") == NOW + 5.25
    ledger.record_turn("run-2", NOW - 100)
    assert ledger.turn_started("run-2") == NOW - 100 and ledger.turn_started("run-1") == NOW + 5.25
    assert ledger.turn_started("run-unknown") is None


# --- 7. retention -----------------------------------------------------------------------------


def test_purge_keeps_a_ticket_that_still_has_a_held_delivery(ledger: Ledger) -> None:
    old = NOW - 10_000
    record, _ = ledger.create_ticket(
        new(
            "tk-old",
            channels=("ntfy", "telegram"),
            holds={"ntfy": Hold(HOLD_QUIET, NOW + 600, "quiet")},
            created_at=old,
        )
    )
    ids = ids_by_channel(record)
    ledger.claim(ids["telegram"], "w", 30, NOW)
    ledger.settle(ids["telegram"], "w", NOW, NOW + 1, "delivered", None, status="delivered", provider_id="1")
    only_held = write_held(ledger, "tk-old-held", kind=HOLD_DIGEST, until=old + 1, created_at=old)  # overdue, too
    folded_a = write_held(ledger, "tk-old-folded", created_at=old)
    assert ledger.purge(NOW - 10) == 0
    assert ledger.get_ticket("tk-old") is not None and ledger.get_ticket("tk-old-held") is not None
    assert [h.delivery.id for h in ledger.held(hold=HOLD_QUIET)] == [ids["ntfy"]]
    # Once settled (dropped, or folded into a digest) they go like any other old ticket.
    assert ledger.drop_held([ids["ntfy"]], "dropped", NOW + 2) == [ids["ntfy"]]
    assert ledger.fold_held([folded_a], digest(at=NOW + 3), "folded into tk-digest") is not None
    assert ledger.purge(NOW - 10) == 2
    assert ledger.get_ticket("tk-old") is None and ledger.get_ticket("tk-old-folded") is None
    assert ledger.get_ticket("tk-old-held") is not None and ledger.get_ticket("tk-digest") is not None
    d = ledger.get_delivery(only_held)
    assert d and d.status == HELD
