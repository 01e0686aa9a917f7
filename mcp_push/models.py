"""The pydantic twins of the documents in ``mcp_push.views``: the MCP tools' output schemas.

Only the MCP server imports this module (pydantic comes with the MCP SDK anyway); the CLI,
hooks and the dashboard use the plain documents of ``mcp_push.views``. The vocabulary is
defined there; the ``Literal`` types below spell it out for the JSON schema, and a test keeps
them equal.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from mcp_push.views import FINAL_OVERALL, as_dict

DeliveryStatus = Literal["pending", "in_flight", "retrying", "delivered", "failed", "held", "folded", "dropped"]
OverallStatus = Literal["recorded", "queued", "held", "delivering", "success", "partial_success", "error"]
AskStatus = Literal["waiting", "answered", "expired", "cancelled"]

M = TypeVar("M", bound=BaseModel)


def from_view(model: type[M], document: Any) -> M:
    """The model for a ``mcp_push.views`` document (same fields, validated against the vocabulary)."""
    return model.model_validate(as_dict(document))


class DeliveryView(BaseModel):
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    updated_at: str
    delivered_at: str | None = None
    next_attempt_at: str | None = Field(default=None, description="When a retrying delivery is tried again.")
    provider_id: str | None = Field(
        default=None, description="The provider's id for the sent message (Telegram message id, ntfy id...)."
    )
    hold: str | None = Field(
        default=None, description="The attention rule that held it: quiet, digest, stop or escalate."
    )
    held_until: str | None = Field(default=None, description="When a held delivery is released.")
    note: str | None = Field(
        default=None,
        description="What an attention rule did: held until, folded into digest X, dropped because the person "
        "came back, escalated at T.",
    )


class AskView(BaseModel):
    """A question and where it stands."""

    question: str
    choices: list[str]
    allow_text: bool
    status: AskStatus
    kind: str = Field(description="question (notify_ask, mcp-push ask), permission or ask_user_question (hooks).")
    expires_at: str
    answer: str | None = Field(default=None, description="The chosen label, or the free-text answer.")
    via: str | None = Field(default=None, description="Where the answer came from: a channel id, link or cli.")
    by: str | None = Field(default=None, description="Who answered (e.g. a Telegram user id).")
    answered_at: str | None = None
    ended_at: str | None = None


class TicketView(BaseModel):
    ticket: str
    event: str | None = None
    title: str
    created_at: str
    status: OverallStatus
    reason: str | None = Field(default=None, description="Why nothing was pushed, for recorded tickets.")
    route: str | None = Field(
        default=None, description="How its channels were chosen: MCP_PUSH_ROUTE_<KIND>, channels argument, ..."
    )
    deliveries: list[DeliveryView]
    ask: AskView | None = Field(default=None, description="The question and its answer, for an ask ticket.")


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
    route: str | None = Field(default=None, description="How the channels were chosen (attention rules).")
    held: list[str] = Field(
        default_factory=list, description="Channels held by an attention rule, each with its note (until when, why)."
    )


class AskReceipt(BaseModel):
    """The answer to notify_ask: returned at once; notify_wait(ticket) waits for the answer."""

    ticket: str
    run_id: str
    status: AskStatus
    channels: list[str]
    expires_at: str = Field(description="When the question expires unanswered.")
    question: str
    choices: list[str]
    allow_text: bool = False
    duplicate: bool = Field(default=False, description="True when the idempotency key matched an earlier ask.")
    answer: str | None = Field(default=None, description="Set when that earlier ask is already answered.")


class WaitDocument(BaseModel):
    """notify_wait / notify_cancel: an ask's answer, or a notification's outcome per channel."""

    ticket: str
    run_id: str
    kind: Literal["ask", "notification"]
    status: AskStatus | OverallStatus = Field(
        description="An ask's status (waiting | answered | expired | cancelled), or a notification's delivery "
        "status (success | partial_success | error ... when done)."
    )
    done: bool = Field(description="True when nothing more will change; false: call notify_wait again.")
    waited_seconds: float
    answer: str | None = Field(default=None, description="The person's answer: a choice's label or free text.")
    ask: AskView | None = None
    deliveries: list[DeliveryView] = Field(default_factory=list, description="Each channel's delivery outcome.")
    hint: str | None = None


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
    rules: list[str] = Field(
        default_factory=list,
        description="The attention rules in force, one line each: routes per kind, quiet hours, digest, "
        "stop delay, min turn, escalation of asks.",
    )
