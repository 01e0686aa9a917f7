"""The fake two-way providers the answer tests press buttons on, one of each per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    fake = FakeNtfy().start()
    yield fake
    fake.stop()
