"""The provider's message id is kept: `mcp-push status --json` shows Telegram's message_id."""

from __future__ import annotations

import json
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
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


def test_status_json_shows_the_telegram_message_id(tmp_path: Path, telegram: FakeTelegram) -> None:
    env = server_env(tmp_path / "home", TELEGRAM.env(telegram.url))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", *args], capture_output=True, text=True, env=env, timeout=60
        )

    sent = cli("send", "Deploy done", "v1.2 is live", "--run-id", "deploy-42", "--wait", "20")
    assert sent.returncode == 0, sent.stderr
    status = cli("status", "deploy-42", "--json")
    assert status.returncode == 0, status.stderr
    (delivery,) = json.loads(status.stdout)["tickets"][0]["deliveries"]
    assert (delivery["channel"], delivery["status"], delivery["provider_id"]) == ("telegram", "delivered", "42")
    assert telegram.problems == []
