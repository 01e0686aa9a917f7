"""Property-based: arbitrary input to every tool gives a ticket or a clear error in mcp-push's own
words (never pydantic's), never a crash, and never a half-written ticket. Calls go through the MCP
protocol layer (in-process client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from mcp_push.notifier import Notifier
from mcp_push.server.app import build_server
from mcp_push.tasks.runtime import Runtime
from tests.server.test_tool_errors import FOREIGN

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_value = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)
anything = json_value | st.text(min_size=0, max_size=300) | st.text(alphabet="abc:._-", min_size=1, max_size=140)

send_args = st.fixed_dictionaries(
    {},
    optional={
        "title": anything,
        "content": anything,
        "run_id": anything,
        "channels": st.lists(st.sampled_from(["console", "ntfy", "nope", ""]), max_size=3) | anything,
        "idempotency_key": anything,
    },
)
event_args = st.fixed_dictionaries(
    {},
    optional={
        "run_id": anything,
        "event": st.sampled_from(["start", "update", "end", "error", "finish", ""]) | anything,
        "message": anything,
        "data": json_value,
        "timestamp": anything,
        "channels": anything,
        "idempotency_key": anything,
    },
)
status_args = st.fixed_dictionaries({}, optional={"run_id": anything, "ticket": anything})


class Session:
    def __init__(self, portal: BlockingPortal, client: Client, runtime: Runtime):
        self.portal, self.client, self.runtime = portal, client, runtime

    def call(self, tool: str, args: dict[str, Any]):
        return self.portal.call(self.client.call_tool, tool, args)

    def counts(self) -> tuple[int, int]:
        ledger = self.runtime.ledger
        return len(ledger.dump_table("tickets")), len(ledger.dump_table("deliveries"))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Iterator[Session]:
    from tests.conftest import settings_for

    runtime = Runtime.open(settings_for(tmp_path_factory.mktemp("prop") / "home", {"CONSOLE": "true"}))
    server = build_server(Notifier(runtime))
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(server)) as client:
        yield Session(portal, client, runtime)
    runtime.close()


def _check(session: Session, tool: str, args: dict[str, Any]) -> None:
    before = session.counts()
    result = session.call(tool, args)
    after = session.counts()
    if result.is_error:
        text = result.content[0].text
        assert text.startswith(f"Error executing tool {tool}: "), text  # raised by mcp-push's own checks
        assert not any(word in text for word in FOREIGN), text
        assert after == before, f"{tool} failed but wrote something: {args!r}"
    else:
        assert result.structured_content
        if tool != "notify_status":
            assert result.structured_content["ticket"].startswith("tk-")
            tickets, deliveries = after
            assert tickets >= before[0]
            if not result.structured_content["duplicate"]:
                assert tickets == before[0] + 1
                assert deliveries == before[1] + len(result.structured_content["channels"])


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(args=send_args)
def test_notify_send_any_input(session: Session, args: dict[str, Any]) -> None:
    _check(session, "notify_send", args)


@FAST
@given(args=event_args)
def test_notify_event_any_input(session: Session, args: dict[str, Any]) -> None:
    _check(session, "notify_event", args)


@FAST
@given(args=status_args)
def test_notify_status_any_input(session: Session, args: dict[str, Any]) -> None:
    _check(session, "notify_status", args)
