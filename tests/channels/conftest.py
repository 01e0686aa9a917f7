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


@pytest.fixture(autouse=True)
def cli_logging() -> Iterator[None]:
    """The loggers as the CLI sets them up (tests log at DEBUG and check no secret reached the log)."""
    import logging

    from mcp_push.cli import URL_LOGGERS

    loggers = [logging.getLogger(name) for name in URL_LOGGERS]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, before, strict=True):
        logger.setLevel(level)
