"""Every ledger backend, for the one contract suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_push.storage import Ledger, SqliteLedger
from tests.services import postgres_schema

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        backend: Ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
        yield backend
        backend.close()
    elif request.param == "postgres":
        # A fresh schema per test (skipped without a server, failed in CI).
        with postgres_schema() as url:
            from mcp_push.storage.postgres import PostgresLedger

            backend = PostgresLedger(url, max_size=20)
            try:
                yield backend
            finally:
                backend.close()
    else:  # pragma: no cover - new backends register here
        raise AssertionError(request.param)
