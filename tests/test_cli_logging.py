"""The CLI sets up logging: verbose output never shows a token that a provider's URL carries.

httpx logs every request URL at INFO, and Telegram's bot token is part of its URL path; with
``-v`` (INFO) or ``MCP_PUSH_LOG=debug`` the CLI must keep httpx and httpcore at WARNING.
Importing a channel module must not change any logger: that is the CLI's business.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import FakeTelegram
from tests.server.conftest import server_env


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    provider = FakeTelegram().start()
    yield provider
    provider.stop()


SEND = ["send", "Deploy done", "v1.2 is live", "--wait", "30"]


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["-v", "test"], {}),  # sends in this process, logging at INFO
        (["-v", *SEND], {"MCP_PUSH_LOG": "info"}),  # the drainer it spawns logs to drain.log at INFO
        (SEND, {"MCP_PUSH_LOG": "debug"}),
    ],
    ids=["-v test", "-v send", "debug send"],
)
def test_verbose_delivery_to_telegram_logs_no_token(tmp_path: Path, telegram: FakeTelegram, args, extra) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", *args],
        capture_output=True,
        text=True,
        env=server_env(home, {**TELEGRAM.env(telegram.url), **extra}),
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(telegram.requests) == 1 and telegram.problems == []
    drain_log = home / "drain.log"
    logged = done.stderr + (drain_log.read_text() if drain_log.exists() else "")
    assert " INFO mcp_push" in logged  # the verbose log is really on
    for secret in TELEGRAM.secrets:
        assert secret not in logged and secret not in done.stdout


def test_importing_the_channels_leaves_every_logger_level_alone() -> None:
    code = (
        "import logging\n"
        "from mcp_push.channels import all_channels\n"
        "all_channels()\n"
        "changed = sorted(n for n, l in logging.Logger.manager.loggerDict.items()\n"
        "                 if isinstance(l, logging.Logger) and l.level != logging.NOTSET)\n"
        "print(changed)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_setup_logging_keeps_the_url_loggers_at_warning() -> None:
    from mcp_push.cli import URL_LOGGERS, setup_logging

    loggers = [logging.getLogger(name) for name in URL_LOGGERS]
    before = [logger.level for logger in loggers]
    try:
        setup_logging("DEBUG")
        assert {logger.level for logger in loggers} == {logging.WARNING}
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
