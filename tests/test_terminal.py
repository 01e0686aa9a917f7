"""Text printed for a person cannot drive their terminal: the sanitizer, the console channel, and
the CLI's `status` and `send --wait` with a title full of escape sequences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcp_push.channels.base import HttpClients, Message
from mcp_push.channels.console import Console
from mcp_push.terminal import printable
from tests.fakes.ntfy import CASE as NTFY
from tests.server.conftest import server_env

HOSTILE = "\x1b[31mred\x1b[0m alarm\x07 \x1b]0;owned\x07over\rwritten \x9b2J\x1b[2K\u202egnp.exe"
CONTROL = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (HOSTILE, "red alarm overwritten 2Jgnp.exe"),
        ("line one\n\tindented\r\nline two", "line one\n\tindented\nline two"),  # layout stays
        ("构建完成 ✅ 🎉", "构建完成 ✅ 🎉"),
        ("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink, ST-terminated
        ("bell\x00nul\x7fdel\x1bMreverse-index", "bellnuldelreverse-index"),
        ("unterminated \x1b]0;title", "unterminated 0;title"),  # the ESC goes; the rest is inert text
    ],
)
def test_printable_removes_escapes_and_controls(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_console_channel_prints_sanitized_text(capsys) -> None:
    clients = HttpClients(5)
    try:
        Console({"CONSOLE": "true"}, clients=clients).send(Message(title=HOSTILE, content="body\x1b[1A\rline"))
    finally:
        clients.close()
    out = capsys.readouterr()
    assert out.out == ""  # stdout belongs to MCP
    # The escape sequence is gone; the lone carriage return is a line break in Markdown (the
    # console prints the plain-text rendering), so it can no longer overwrite the line.
    assert out.err == "[mcp-push] red alarm overwritten 2Jgnp.exe\n\nbody\nline\n"


def test_status_and_send_wait_print_sanitized_text(tmp_path: Path, fake) -> None:
    env = server_env(tmp_path / "home", NTFY.env(fake.url))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", *args], capture_output=True, text=True, env=env, timeout=60
        )

    sent = run("send", HOSTILE, "c", "--run-id", "esc-1", "--wait", "20")
    status = run("status", "esc-1")
    event = run("send", HOSTILE, "m\x1b[2J", "--event", "error", "--run-id", "esc-1", "--wait", "20")
    for done in (sent, status, event):
        assert done.returncode == 0, done.stdout + done.stderr
        assert "red alarm overwritten" in done.stdout
        assert not any(c in done.stdout + done.stderr for c in CONTROL), repr(done.stdout)
    assert "last event: error" in event.stdout
    as_json = run("status", "esc-1", "--json")  # JSON keeps the stored text, escaped by JSON itself
    assert "\\u001b[31mred" in as_json.stdout and "\x1b" not in as_json.stdout
