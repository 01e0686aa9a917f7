"""Every ledger backend, for the one contract suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.storage import Ledger, SqliteLedger

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        backend: Ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    else:  # pragma: no cover - new backends register here
        raise AssertionError(request.param)
    yield backend
    backend.close()
