"""The command line as a user runs it: a real subprocess, exit codes, JSON, stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import TOKEN, TOPIC, FakeNtfy
from tests.helpers import run_probe
from tests.server.conftest import server_env


@pytest.fixture
def cli(tmp_path: Path, fake: FakeNtfy):
    home = tmp_path / "home"

    def run(*args: str, extra: dict[str, str] | None = None, stdin: str | None = None, channels: bool = True):
        env = server_env(home, {**(NTFY.env(fake.url) if channels else {}), **(extra or {})})
        return subprocess.run(
            [sys.executable, "-m", "mcp_push", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def test_send_wait_json_delivers_without_any_running_worker(cli, fake) -> None:
    done = cli("send", "Deploy done", "v1.2 is live", "--run-id", "deploy-1", "--wait", "20", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["run_id"] == "deploy-1" and doc["status"] == "success"
    assert doc["tickets"][0]["deliveries"][0] == {
        **doc["tickets"][0]["deliveries"][0],
        "channel": "ntfy",
        "status": "delivered",
        "attempts": 1,
    }
    # Then the source line, which starts with the project: the directory the command ran in (this checkout).
    assert fake.requests[0].body.startswith(f"v1.2 is live\n\n*{Path.cwd().name} · ".encode())


def test_send_reads_content_from_stdin_and_status_finds_the_run(cli, fake) -> None:
    sent = cli("send", "Logs", "-", "--run-id", "job-9", "--wait", "20", stdin="line one\nline two\n")
    assert sent.returncode == 0, sent.stderr
    assert [line.rstrip() for line in fake.requests[0].body.decode().splitlines()[:2]] == ["line one", "line two"]
    status = cli("status", "job-9", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["status"] == "success"
    ticket = json.loads(status.stdout)["tickets"][0]["ticket"]
    by_ticket = cli("status", ticket)
    assert by_ticket.returncode == 0 and "ntfy: delivered" in by_ticket.stdout


def test_failed_delivery_exits_1_with_the_reason(cli, fake) -> None:
    fake.default_mode = "permanent"
    done = cli("send", "t", "c", "--wait", "20")
    assert done.returncode == 1
    assert "forbidden" in done.stdout
    assert TOPIC not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr


def test_pending_at_the_deadline_exits_1(cli, fake) -> None:
    fake.delay = 3.0
    done = cli("send", "t", "c", "--wait", "0.5", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] in ("queued", "delivering")


def test_event_with_data(cli, fake) -> None:
    done = cli(
        "send",
        "Refactor",
        "Finished the refactor",
        "--event",
        "end",
        "--run-id",
        "r1",
        "--data",
        '{"files": 12}',
        "--wait",
        "20",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert b"files: 12" in fake.requests[0].body
    assert json.loads(done.stdout)["tickets"][0]["title"] == "✅ Finished · Refactor"
    recorded = cli("send", "Refactor", "halfway", "--event", "update", "--run-id", "r1")
    assert recorded.returncode == 0 and "recorded" in recorded.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("send", "", "c"), "title"),
        (("send", "t", "c", "--run-id", "no spaces"), "run_id"),
        (("send", "t", "c", "--channel", "nope"), "unknown channel"),
        (("send", "t", "c", "--event", "end"), "--run-id"),
        (("send", "t", "c", "--event", "end", "--run-id", "r", "--data", "[1]"), "JSON object"),
        (("send", "t", "c", "--event", "end", "--run-id", "r", "--data", "{oops"), "not valid JSON"),
        (("status", "never-seen"), "no notification"),
    ],
)
def test_bad_input_exits_2_with_a_message(cli, args, message) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_no_channel_configured_exits_2_and_says_where(cli) -> None:
    done = cli("send", "t", "c", channels=False)
    assert done.returncode == 2
    assert "no channel is configured" in done.stderr and "config.sh" in done.stderr


def test_channels_json_masks_secrets(cli) -> None:
    done = cli("channels", "--json", extra={"TG_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOP"})
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert doc["enabled"] == ["ntfy"]
    telegram = next(c for c in doc["channels"] if c["id"] == "telegram")
    assert telegram["enabled"] is False and telegram["missing"] == ["TG_USER_ID"]
    assert TOPIC not in done.stdout and TOKEN not in done.stdout and "ABCDEFGHIJKLMNOP" not in done.stdout


def test_config_file_is_read_and_environment_wins(cli, tmp_path, fake) -> None:
    config = tmp_path / "my-config.sh"
    config.write_text(
        f'# my channels\nexport NTFY_URL="{fake.url}"\nexport NTFY_TOPIC={TOPIC}\nexport NTFY_TOKEN=wrong\n'
    )
    done = cli(
        "send", "t", "c", "--wait", "20", channels=False, extra={"MCP_PUSH_CONFIG": str(config), "NTFY_TOKEN": TOKEN}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert fake.problems == []


def test_test_command_reports_each_channel(cli, fake) -> None:
    done = cli("test", "--wait", "20", extra={"CONSOLE": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["console: delivered", "ntfy: delivered"]
    assert fake.requests[0].headers["title"] == "mcp-push test"


def test_test_command_names_the_provider_reason(cli, fake) -> None:
    fake.default_mode = "permanent"
    done = cli("test", "ntfy", "--wait", "20")
    assert done.returncode == 1
    assert done.stdout.startswith("ntfy: failed: ") and "forbidden" in done.stdout and "NTFY_TOPIC" in done.stdout
    assert TOPIC not in done.stdout.replace("check NTFY_TOPIC", "")


def test_skip_push_title_records_instead_of_pushing(cli, fake) -> None:
    done = cli("send", "Nightly", "c", "--json", extra={"SKIP_PUSH_TITLE": "Daily\nNightly"})
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert doc["status"] == "recorded" and "SKIP_PUSH_TITLE" in doc["tickets"][0]["reason"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("args", "channels", "words"),
    [
        ((), False, ("no channel is configured", "NTFY_TOPIC", "config.sh")),
        (("carrier-pigeon",), True, ("unknown channel 'carrier-pigeon'", "known channels are")),
        (("telegram",), True, ("channel 'telegram' is not configured", "set TG_BOT_TOKEN")),
    ],
    ids=["nothing-configured", "unknown-channel", "unconfigured-channel"],
)
def test_test_command_without_a_usable_channel_exits_2_saying_what_to_set(cli, args, channels, words) -> None:
    done = cli("test", *args, "--wait", "5", channels=channels)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and "RuntimeError" not in done.stderr
    (line,) = done.stderr.strip().splitlines()[-1:]  # one line (after any config warning)
    assert line.startswith("mcp-push: ") and all(w in line for w in words), line


def test_send_event_uses_title_as_the_headline(cli, fake) -> None:
    done = cli(
        "send", "Deploy done", "v1.2 is live", "--event", "end", "--run-id", "deploy-7", "--wait", "20", "--json"
    )
    assert done.returncode == 0, done.stderr
    (ticket,) = json.loads(done.stdout)["tickets"]
    assert ticket["title"] == "✅ Finished · Deploy done" and ticket["event"] == "end"
    assert fake.requests[0].body.startswith(b"v1.2 is live")
    default = cli("send", "", "no headline given", "--event", "end", "--run-id", "deploy-7", "--json")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)["tickets"][0]["title"] == "✅ Finished · deploy-7"  # '' keeps the run id
    too_long = cli("send", "t" * 1001, "m", "--event", "end", "--run-id", "deploy-7")
    assert too_long.returncode == 2 and "title has 1,001 characters" in too_long.stderr


def test_status_of_a_delivered_error_event_names_the_last_event(cli, fake) -> None:
    cli("send", "Build", "started", "--event", "start", "--run-id", "build-3")
    done = cli("send", "Build", "3 tests failed", "--event", "error", "--run-id", "build-3", "--wait", "20", "--json")
    assert done.returncode == 0, done.stderr
    status = cli("status", "build-3", "--json")
    doc = json.loads(status.stdout)
    assert doc["status"] == "success"  # of the deliveries: the error notification arrived
    assert doc["last_event"] == "error" and doc["last_event_title"] == "❌ Failed · Build"
    assert doc["last_event_at"] == doc["tickets"][-1]["created_at"]
    text = cli("status", "build-3")
    first = text.stdout.splitlines()[0]
    assert first.startswith("Run build-3: success (deliveries); last event: error '❌ Failed · Build' at "), first


def test_channels_text_names_the_config_file_it_read(cli, tmp_path) -> None:
    done = cli("channels")
    assert done.returncode == 0, done.stderr
    assert f"Config file: {tmp_path / 'home' / 'empty-config.sh'}" in done.stdout.splitlines()


# --- what the one-shot producers load -------------------------------------------------------

# A producer commits to the ledger and hands the ids to a worker: the consumer (Huey, and with it
# redis or psycopg), tenacity, httpx, pydantic and the MCP SDK belong to the processes that deliver
# or speak MCP. Every agent stop runs `mcp-push hook`, so what it imports is what the user waits for.
CONSUMER_MODULES = ("huey", "httpx", "pydantic", "tenacity", "mcp", "redis", "psycopg")
PROBE = """
import json, sys
import mcp_push.tasks.drain as drain
drain.spawn_drainer = lambda settings: None  # no worker for this test's ledger: keep it that way
from mcp_push.cli import main
code = main(sys.argv[1:])
loaded = sorted(name for name in {CONSUMER} if name in sys.modules)
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ("hook",),
        ("send", "Deploy done", "v1.2 is live", "--run-id", "deploy-1"),
        ("send", "", "tests pass", "--event", "end", "--run-id", "deploy-1"),
        ("status", "deploy-0", "--json"),
        ("channels",),
        ("ask", "Deploy to prod?", "--choice", "Deploy", "--choice", "Hold", "--wait", "0"),
    ],
    ids=["hook", "send", "send-event", "status", "channels", "ask"],
)
def test_producers_load_no_consumer_http_client_pydantic_or_mcp_sdk(tmp_path: Path, fake: FakeNtfy, args) -> None:
    home = tmp_path / "home"
    env = server_env(home, NTFY.env(fake.url))
    subprocess.run(  # a ticket for `status` to find, written the same way
        [sys.executable, "-c", PROBE.format(CONSUMER=CONSUMER_MODULES), "send", "t", "c", "--run-id", "deploy-0"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    result, stderr = run_probe(PROBE.format(CONSUMER=CONSUMER_MODULES), args, env)
    assert result == {"code": 0, "loaded": []}, stderr


def test_send_takes_format_priority_url_and_source(cli, fake) -> None:
    done = cli(
        "send",
        "Report",
        "**not bold** here",
        "--format",
        "text",
        "--priority",
        "urgent",
        "--url",
        "https://ci.example.com/r/3",
        "--source",
        "nightly · ci-box",
        "--wait",
        "20",
    )
    assert done.returncode == 0, done.stderr
    (request,) = fake.requests
    assert fake.problems == []
    assert (request.header("priority"), request.header("click")) == ("5", "https://ci.example.com/r/3")
    assert request.body.decode() == "\\*\\*not bold\\*\\* here\n\n*nightly · ci-box*"
    bad = cli("send", "t", "c", "--url", "ftp://example.com/x")
    assert bad.returncode == 2 and "http:// or https://" in bad.stderr
    off = cli("send", "t", "c", "--source", "", "--wait", "20")
    assert off.returncode == 0 and fake.requests[1].body == b"c"  # '' drops the source line
