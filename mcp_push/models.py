"""The status vocabulary and the documents mcp-push hands to agents, the CLI and scripts.

The words are fixed (the docs and every JSON use them):
delivery: pending | in_flight | retrying | delivered | failed;
ticket and run: recorded | queued | delivering | success | partial_success | error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

DeliveryStatus = Literal["pending", "in_flight", "retrying", "delivered", "failed"]
OverallStatus = Literal["recorded", "queued", "delivering", "success", "partial_success", "error"]
FINAL_DELIVERY: frozenset[str] = frozenset({"delivered", "failed"})
FINAL_OVERALL: frozenset[str] = frozenset({"recorded", "success", "partial_success", "error"})


def rollup(statuses: Iterable[str]) -> OverallStatus:
    """The overall status of a ticket or run from its deliveries' statuses."""
    seen = list(statuses)
    if not seen:
        return "recorded"
    if all(s == "pending" for s in seen):
        return "queued"
    if not all(s in FINAL_DELIVERY for s in seen):
        return "delivering"
    if all(s == "delivered" for s in seen):
        return "success"
    if all(s == "failed" for s in seen):
        return "error"
    return "partial_success"


class DeliveryView(BaseModel):
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    updated_at: str
    delivered_at: str | None = None
    next_attempt_at: str | None = Field(default=None, description="When a retrying delivery is tried again.")


class TicketView(BaseModel):
    ticket: str
    event: str | None = None
    title: str
    created_at: str
    status: OverallStatus
    reason: str | None = Field(default=None, description="Why nothing was pushed, for recorded tickets.")
    deliveries: list[DeliveryView]


class StatusDocument(BaseModel):
    """What reached whom, for one run (or the run of one ticket)."""

    run_id: str
    status: OverallStatus = Field(description="How the deliveries went (not whether the task itself succeeded).")
    tickets: list[TicketView]
    workers_alive: int | None = Field(default=None, description="Workers with a recent heartbeat (0: none running).")
    last_event: str | None = Field(
        default=None,
        description="The latest agent event of these tickets (start | update | end | error): how the task went.",
    )
    last_event_at: str | None = Field(default=None, description="When the latest event was recorded.")
    last_event_title: str | None = Field(default=None, description="The latest event's title.")

    @property
    def final(self) -> bool:
        return all(t.status in FINAL_OVERALL for t in self.tickets)


class SendReceipt(BaseModel):
    """The answer to notify_send / notify_event: returned before any provider is contacted."""

    ticket: str
    run_id: str
    status: OverallStatus
    channels: list[str]
    reason: str | None = None
    duplicate: bool = Field(default=False, description="True when the idempotency key matched an earlier ticket.")


class ChannelView(BaseModel):
    id: str
    name: str
    enabled: bool
    settings: dict[str, str] = Field(description="The channel's variables that are set, secrets masked.")
    missing: list[str] = Field(default_factory=list, description="Required variables not set yet.")
    rate_limit: str | None = None


class ChannelsDocument(BaseModel):
    enabled: list[str]
    channels: list[ChannelView]
    config_file: str | None = None
    hint: str | None = None
    workers_alive: int = Field(default=0, description="Workers with a recent heartbeat (0: none running).")


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC timestamp (milliseconds)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
