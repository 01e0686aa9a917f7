"""A hook's message says where it came from: the payload's project and branch, the agent, the session."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mcp_push.hooks import enqueue, notice_for
from mcp_push.tasks.runtime import Runtime
from tests.fakes.ntfy import CASE as NTFY

SESSION = "00893aaf-19fa-41d2-8238-13269b9b3ca0"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "shop-api"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/fix/retries\n")
    return root


def stop_payload(cwd: Path) -> dict[str, object]:
    return {"session_id": SESSION, "cwd": str(cwd), "hook_event_name": "Stop", "last_assistant_message": "Done."}


def sent(make_settings, fake, monkeypatch, payload: dict[str, object], **env: str):
    monkeypatch.setattr("mcp_push.tasks.drain.ensure_delivery", lambda runtime: None)
    settings = make_settings({**NTFY.env(fake.url), **env})
    notice = notice_for(payload)
    assert notice is not None and enqueue(settings, notice) == "queued"
    runtime = Runtime.open(settings)
    try:
        (record,) = runtime.ledger.run_tickets(f"claude:{SESSION}")
    finally:
        runtime.close()
    return record


def test_the_source_line_comes_from_the_payloads_checkout(make_settings, fake, monkeypatch, checkout, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # not the project: the payload's cwd decides
    record = sent(make_settings, fake, monkeypatch, stop_payload(checkout))
    host = socket.gethostname().split(".")[0]
    assert record.source == f"shop-api · fix/retries · {host} · claude-code · 00893aaf"
    assert record.title == "✅ Finished · claude:0…9b3ca0"  # short; the body has the whole run id
    assert f"run: claude:{SESSION}" in record.content


def test_mcp_push_source_off_removes_it(make_settings, fake, monkeypatch, checkout) -> None:
    record = sent(make_settings, fake, monkeypatch, stop_payload(checkout), MCP_PUSH_SOURCE="off")
    assert record.source is None
    assert json.dumps(record.content).count("shop-api") >= 1  # the details still name the project
