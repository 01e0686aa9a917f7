"""Secrets stay out of every place a user looks, and the user's own words are never masked.

Where things surface: the ledger (``last_error``, what ``status``/``notify_status`` show), the
channel list (``mcp-push channels``, ``notify_channels``), the logs and the dashboard.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.ntfy import Ntfy
from mcp_push.channels.telegram import Telegram
from mcp_push.config import Settings
from mcp_push.dashboard import create_dashboard_app
from mcp_push.notifier import Notifier
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from mcp_push.tasks.runtime import Runtime
from mcp_push.views import as_json
from tests.conftest import FakeClock, settings_for
from tests.dashboard.dom import parse, run_statuses, selected_run
from tests.dashboard.sample import Writer
from tests.fakes.base import FakeProvider, Recorded, Reply
from tests.fakes.ntfy import TOKEN as NTFY_TOKEN
from tests.fakes.ntfy import TOPIC as NTFY_TOPIC
from tests.fakes.ntfy import FakeNtfy
from tests.server.conftest import server_env

HOOK_KEY = "Zq8rT2vX9pL4mN7wKe3s"  # the key in the webhook URL's path
PROXY_PASSWORD = "pr0xy-Passw0rd"
SHORT_TOPIC = "alerts"


class EchoingReceiver(FakeProvider):
    """A webhook receiver that echoes the path in its 404, as Express's "Cannot POST /path" does."""

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        return Reply(404, f"Cannot {request.method} {request.path} (no route for key {request.path.split('/')[2]})")


@pytest.fixture
def receiver() -> Iterator[EchoingReceiver]:
    fake = EchoingReceiver().start()
    yield fake
    fake.stop()


def deliver(settings: Settings, ledger: SqliteLedger, channel: str, title: str, run_id: str = "run-1") -> int:
    """One delivery of ``title`` through the real delivery task; returns its id."""
    clients = HttpClients(5)
    clock = FakeClock(time.time())
    try:
        deliverer = Deliverer(settings, ledger, clients, "test", lambda i, d: None, clock=clock, sleep=clock.sleep)
        record, _ = ledger.create_ticket(
            NewTicket(f"tk-{time.monotonic_ns()}", run_id, title, "All 42 tests passed.", clock(), (channel,))
        )
        deliverer.run(record.deliveries[0].id)
        return record.deliveries[0].id
    finally:
        clients.close()


def stored(ledger: SqliteLedger) -> str:
    return "\n".join(repr(r) for t in ("tickets", "deliveries", "attempts") for r in ledger.dump_table(t))


def dashboard_pages(settings: Settings, ledger: SqliteLedger) -> list[str]:
    """The overview and every run's page, as the dashboard serves them."""
    client = TestClient(create_dashboard_app((ledger, None), settings=settings))
    first = client.get("/").text
    return [first, *(client.get("/", params={"run": run}).text for run in run_statuses(parse(first)))]


def cli_channels(home: Path, env: dict[str, str]) -> str:
    """``mcp-push channels`` and ``channels --json`` as a user runs them."""
    out = []
    for args in (["channels"], ["channels", "--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "mcp_push", *args],
            capture_output=True,
            text=True,
            env=server_env(home, env),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        out.append(done.stdout + done.stderr)
    return "\n".join(out)


# --- a key in a webhook URL's path -----------------------------------------------------------
def test_a_key_in_a_webhook_path_is_masked_everywhere(receiver, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "WEBHOOK_URL": f"{receiver.url}/k/{HOOK_KEY}/notify?t=$title",
        "WEBHOOK_METHOD": "POST",
        "WEBHOOK_BODY": "title: $title",
    }
    settings = settings_for(tmp_path / "home", env)
    settings.home.mkdir(parents=True, exist_ok=True)
    ledger = SqliteLedger(settings.ledger_path)
    try:
        did = deliver(settings, ledger, "webhook", "Deploy done")
        d = ledger.get_delivery(did)
        assert d is not None and d.status == "failed"
        assert d.last_error and "HTTP 404: Cannot POST /***" in d.last_error  # still says what failed
        assert HOOK_KEY not in stored(ledger) and HOOK_KEY not in caplog.text
        # A channel that forgot to redact: the dashboard's own fence still masks the key.
        now = time.time()
        leaky = Writer(ledger).ticket("leaky", "Leak", now, ["webhook"])
        Writer(ledger).play(
            leaky.deliveries[0].id, [(now, 0.1, "permanent", f"Cannot POST /k/{HOOK_KEY}/notify")], "failed"
        )
        pages = dashboard_pages(settings, ledger)
        assert sum("Cannot POST /***" in page for page in pages) >= 2  # the real failure and the leak
        assert all(HOOK_KEY not in page and quote(HOOK_KEY) not in page for page in pages)
    finally:
        ledger.close()
    assert HOOK_KEY not in cli_channels(tmp_path / "cli", env)


# --- credentials in TG_PROXY_HOST ----------------------------------------------------------------
def test_credentials_in_tg_proxy_host_are_masked(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "TG_BOT_TOKEN": "1407203283:AAG9rt-6RDaaX0HBLZQq0laNOh898iFYaRQ",
        "TG_USER_ID": "1434078534",
        "TG_PROXY_HOST": f"proxyuser:{PROXY_PASSWORD}@127.0.0.1",
        "TG_PROXY_PORT": "9",  # nothing listens: the delivery fails reaching the proxy
    }
    shown = Telegram.masked_settings(env)
    assert shown["TG_PROXY_HOST"] == "proxyuser:***@127.0.0.1"
    settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "2"})
    settings.home.mkdir(parents=True, exist_ok=True)
    runtime = Runtime.open(settings)
    try:
        doc = Notifier(runtime).channels()  # what notify_channels returns
        assert PROXY_PASSWORD not in as_json(doc)
        did = deliver(settings, runtime.ledger, "telegram", "Deploy done")
        d = runtime.ledger.get_delivery(did)
        assert d is not None and d.status == "retrying" and d.last_error
        assert PROXY_PASSWORD not in stored(runtime.ledger) and PROXY_PASSWORD not in caplog.text
    finally:
        runtime.close()
    channel = Telegram(env, clients=HttpClients(1))
    for leak in (f"ProxyError: http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9", f"407: wrong password {PROXY_PASSWORD}"):
        assert PROXY_PASSWORD not in (channel.redact(leak) or "")
    assert PROXY_PASSWORD not in cli_channels(tmp_path / "cli", env)


def test_a_proxy_error_naming_the_proxy_url_is_redacted() -> None:
    env = {"TG_BOT_TOKEN": "1:abc", "TG_USER_ID": "1", "TG_PROXY_HOST": "u:pw12@10.0.0.1", "TG_PROXY_PORT": "3128"}
    channel = Telegram(env, clients=HttpClients(1))
    assert channel.proxy() == "http://u:pw12@10.0.0.1:3128"
    assert channel.redact("could not reach http://u:pw12@10.0.0.1:3128") == "could not reach http://u:***@10.0.0.1:3128"


# --- the user's words are never masked --------------------------------------------------------------
class TopicNtfy(FakeNtfy):
    """The ntfy fake's checks, for a topic chosen by the test."""

    topic = SHORT_TOPIC

    def check(self, request: Recorded) -> None:
        request.path = f"/{NTFY_TOPIC}" if request.path == f"/{self.topic}" else "/wrong-topic"
        super().check(request)


@pytest.fixture
def topic_ntfy() -> Iterator[TopicNtfy]:
    fake = TopicNtfy().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize(
    ("topic", "masked_reason"),
    [
        (SHORT_TOPIC, "/***: alerts muted"),  # short: masked in the URL only
        ("deploy-alerts", "/***: *** muted"),  # long: masked wherever the provider's text has it
    ],
)
def test_a_secret_never_masks_the_users_words(topic_ntfy, tmp_path, topic: str, masked_reason: str) -> None:
    """NTFY_TOPIC=alerts: the dashboard shows "3 alerts fired" and its run link works, even for a topic named
    like the run; only the provider's reason has the topic masked."""
    topic_ntfy.topic = topic
    env = {"NTFY_URL": topic_ntfy.url, "NTFY_TOPIC": topic, "NTFY_TOKEN": NTFY_TOKEN}
    settings = settings_for(tmp_path / "home", env)
    settings.home.mkdir(parents=True, exist_ok=True)
    ledger = SqliteLedger(settings.ledger_path)
    title, run_id = f"3 {topic} fired", f"{topic}-nightly"
    try:
        did = deliver(settings, ledger, "ntfy", title, run_id)
        assert topic_ntfy.problems == []
        d = ledger.get_delivery(did)
        assert d is not None and d.status == "delivered"
        record = ledger.get_ticket(d.ticket)
        assert record is not None and (record.title, record.run_id) == (title, run_id)  # stored as written
        now = time.time()
        again = Writer(ledger).ticket(run_id, f"{topic} again", now, ["ntfy"])
        reason = f"HTTP 403 from {topic_ntfy.url}/{topic}: {topic} muted"
        Writer(ledger).play(again.deliveries[0].id, [(now, 0.1, "permanent", reason)], "failed")
        client = TestClient(create_dashboard_app((ledger, None), settings=settings))
        page = parse(client.get("/").text)
        assert run_id in run_statuses(page)
        link = page.find("a", "rid").attrs["href"]
        assert link == "/?run=" + quote(run_id, safe="")
        panel = selected_run(parse(client.get(link).text))
        assert panel.attrs["data-run"] == run_id
        assert title in panel.text and f"{topic} again" in panel.text
        assert f"{topic_ntfy.url}{masked_reason}" in panel.text
    finally:
        ledger.close()


def test_notify_status_shows_the_title_as_written(topic_ntfy, tmp_path) -> None:
    env = {"NTFY_URL": topic_ntfy.url, "NTFY_TOPIC": SHORT_TOPIC, "NTFY_TOKEN": NTFY_TOKEN}
    settings = settings_for(tmp_path / "home", env)
    settings.home.mkdir(parents=True, exist_ok=True)
    runtime = Runtime.open(settings)
    try:
        deliver(settings, runtime.ledger, "ntfy", "3 alerts fired", "alerts-run")
        doc = json.loads(as_json(Notifier(runtime).status(run_id="alerts-run")))
        assert doc["run_id"] == "alerts-run"
        assert doc["tickets"][0]["title"] == "3 alerts fired"
    finally:
        runtime.close()


def test_the_short_topic_is_masked_in_the_url_of_a_reason(clients) -> None:
    channel = Ntfy({"NTFY_URL": "https://ntfy.example.com", "NTFY_TOPIC": SHORT_TOPIC}, clients=clients)
    request = channel.request(Message("3 alerts fired", "alerts: 3"))
    assert request.url == f"https://ntfy.example.com/{SHORT_TOPIC}" and request.headers["Title"] == "3 alerts fired"
    assert channel.redact(f"POST {request.url}: 3 alerts fired") == "POST https://ntfy.example.com/***: 3 alerts fired"
