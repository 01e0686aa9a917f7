"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.channels import HttpClients


@pytest.fixture
def clients() -> Iterator[HttpClients]:
    """The pooled HTTP clients a channel sends with (5 s timeout)."""
    pool = HttpClients(5)
    yield pool
    pool.close()
