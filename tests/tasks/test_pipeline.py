"""The pipeline end to end in one process: notifier -> ledger -> Huey (SQLite) -> worker threads -> fake."""

from __future__ import annotations

import time

import pytest

from mcp_push.notifier import Notifier
from mcp_push.storage import NewTicket
from mcp_push.tasks.maintenance import sweep
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import delivery_status, wait_until


@pytest.fixture
def start(open_pipeline, fake):
    def go(extra: dict[str, str] | None = None, worker: bool = True) -> tuple[Runtime, Notifier]:
        env = {**NTFY.env(fake.url), "MCP_PUSH_RETRY_BASE": "0.3", "MCP_PUSH_TRY_WAIT_MAX": "0.2", **(extra or {})}
        return open_pipeline(env, worker)

    return go


def test_send_is_delivered_through_the_queue(start, fake) -> None:
    runtime, notifier = start()
    receipt = notifier.send("Build finished", "All green", run_id="ci-1")
    assert receipt.status == "queued" and receipt.channels == ["ntfy"]
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="delivery")
    assert notifier.status(run_id="ci-1").status == "success"
    (request,) = fake.requests
    assert request.headers["title"] == "Build finished" and request.body == b"All green"
    assert fake.problems == []


def test_provider_down_then_back_goes_through_retrying(start, fake) -> None:
    fake.script("transient", "transient", "transient")  # one whole in-task round fails
    runtime, notifier = start()
    receipt = notifier.send("t", "c")
    doc = wait_until(
        lambda: (d := notifier.status(ticket=receipt.ticket)).tickets[0].deliveries[0].status == "retrying" and d,
        what="retrying",
    )
    delivery = doc.tickets[0].deliveries[0]
    assert delivery.attempts == 3 and "internal server error" in (delivery.last_error or "")
    assert delivery.next_attempt_at is not None
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="redelivery")
    final = notifier.status(ticket=receipt.ticket)
    assert final.status == "success" and final.tickets[0].deliveries[0].attempts == 4


def test_deliveries_retried_at_once_each_count_their_own_tries(start, fake) -> None:
    # One tenacity policy serves every worker thread: each inline round writes its tries to its own
    # delivery (the task travels in the call's arguments) and stops after its own three.
    fake.default_mode = "transient"
    runtime, notifier = start({"MCP_PUSH_RETRY_BASE": "600"})
    tickets = [notifier.send(f"t{i}", "c").ticket for i in range(2)]
    wait_until(lambda: all(delivery_status(runtime, ticket) == "retrying" for ticket in tickets), what="both retrying")
    attempts = [notifier.status(ticket=ticket).tickets[0].deliveries[0].attempts for ticket in tickets]
    assert attempts == [3, 3]
    assert len(fake.requests) == 6


def test_past_the_maximum_age_the_delivery_fails(start, fake) -> None:
    fake.default_mode = "transient"
    runtime, notifier = start({"MCP_PUSH_MAX_AGE": "1"})
    receipt = notifier.send("t", "c")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "failed", what="give-up")
    d = notifier.status(ticket=receipt.ticket).tickets[0].deliveries[0]
    assert "gave up after" in (d.last_error or "")


def test_permanent_failure_is_one_attempt(start, fake) -> None:
    fake.default_mode = "permanent"
    runtime, notifier = start()
    receipt = notifier.send("t", "c")
    wait_until(lambda: delivery_status(runtime, receipt.ticket) == "failed", what="failure")
    doc = notifier.status(ticket=receipt.ticket)
    assert doc.status == "error"
    assert doc.tickets[0].deliveries[0].attempts == 1
    assert len(fake.requests) == 1


def test_sweep_enqueues_a_delivery_whose_task_never_reached_the_queue(start, fake) -> None:
    runtime, _ = start(worker=False)
    # A crash between the ledger commit and the enqueue: the row exists, no task does.
    record, _ = runtime.ledger.create_ticket(NewTicket("tk-lost", "run-x", "t", "c", 0.0, ("ntfy",)))
    assert runtime.huey.pending_count() == 0
    assert sweep(runtime) == [record.deliveries[0].id]
    worker = Worker(runtime, threads=1)
    worker.start()
    try:
        wait_until(lambda: delivery_status(runtime, "tk-lost") == "delivered", what="swept delivery")
    finally:
        worker.stop()


def test_stopping_a_worker_hands_back_its_in_flight_deliveries(start, fake) -> None:
    runtime, notifier = start(worker=False)
    receipt = notifier.send("t", "c")
    delivery_id = runtime.ledger.get_ticket(receipt.ticket).deliveries[0].id  # type: ignore[union-attr]
    assert runtime.ledger.claim(delivery_id, runtime.owner, 60, time.time())
    released = runtime.ledger.release_owner(runtime.owner, time.time())
    assert released == [delivery_id]
    assert delivery_status(runtime, receipt.ticket) == "pending"
