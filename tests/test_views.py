"""The views are the one place the status vocabulary lives; the MCP models only mirror them."""

from __future__ import annotations

import dataclasses
import json
from typing import get_args

import pytest

from mcp_push import models, views
from mcp_push.storage.base import Delivery, TicketRecord

NOW = 1_750_000_000.0


def record(*statuses: str, event: str | None = "end") -> TicketRecord:
    deliveries = tuple(
        Delivery(i, "tk-1", f"ch{i}", s, 1, NOW, NOW + 1, "boom" if s == views.FAILED else None)
        for i, s in enumerate(statuses)
    )
    return TicketRecord("tk-1", "run-1", "Build ✅ done", "body", NOW, event=event, deliveries=deliveries)


def test_the_models_spell_the_vocabulary_of_the_views() -> None:
    assert get_args(models.DeliveryStatus) == views.DELIVERY_STATUSES
    assert get_args(models.OverallStatus) == views.OVERALL_STATUSES
    assert get_args(models.AskStatus) == views.ASK_STATUSES
    assert set(views.OPEN) | {views.IN_FLIGHT, views.HELD} | set(views.SETTLED) == set(views.DELIVERY_STATUSES)


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        (["held", "held"], "held"),  # every channel waits for an attention rule's release
        (["held", "pending"], "queued"),
        (["held", "delivered"], "delivering"),
        (["folded", "delivered"], "success"),  # a folded one went out in its digest
        (["dropped", "delivered"], "success"),  # a dropped one was not needed
        (["dropped"], "recorded"),
        (["dropped", "failed"], "error"),
    ],
)
def test_the_attention_statuses_roll_up(statuses: list[str], overall: str) -> None:
    assert views.rollup(statuses) == overall


def test_each_document_and_its_model_have_the_same_fields_in_the_same_order() -> None:
    pairs = [
        (views.DeliveryView, models.DeliveryView),
        (views.TicketView, models.TicketView),
        (views.StatusDocument, models.StatusDocument),
        (views.SendReceipt, models.SendReceipt),
        (views.ChannelView, models.ChannelView),
        (views.ChannelsDocument, models.ChannelsDocument),
        (views.AskView, models.AskView),
        (views.AskReceipt, models.AskReceipt),
        (views.WaitDocument, models.WaitDocument),
    ]
    for view, model in pairs:
        assert [f.name for f in dataclasses.fields(view)] == list(model.model_fields), view.__name__


def test_the_structured_output_is_the_document_as_json() -> None:
    doc = views.status_document("run-1", [record(views.DELIVERED, views.FAILED)])
    doc.workers_alive = 0
    dumped = models.from_view(models.StatusDocument, doc).model_dump(mode="json")
    assert dumped == views.as_dict(doc) == json.loads(views.as_json(doc))
    assert dumped["status"] == views.PARTIAL_SUCCESS and dumped["last_event"] == "end"
    assert "✅" in views.as_json(doc)  # non-ASCII kept, as pydantic wrote it


def test_rollup() -> None:
    assert views.rollup([]) == views.RECORDED
    assert views.rollup([views.PENDING, views.PENDING]) == views.QUEUED
    assert views.rollup([views.PENDING, views.DELIVERED]) == views.DELIVERING
    assert views.rollup([views.DELIVERED]) == views.SUCCESS
    assert views.rollup([views.FAILED]) == views.ERROR
    assert views.rollup([views.FAILED, views.DELIVERED]) == views.PARTIAL_SUCCESS


def test_status_text_names_each_delivery_and_the_missing_worker() -> None:
    doc = views.status_document("run-1", [record(views.PENDING, views.FAILED)])
    doc.workers_alive = 0
    text = views.status_text(doc)
    assert text.startswith("Run run-1: delivering (deliveries); last event: end")
    assert "    ch1: failed, 1 attempt(s) - boom" in text
    assert "No worker is running" in text
