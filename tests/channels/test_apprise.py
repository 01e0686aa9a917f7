"""Apprise channels (APPRISE_URLS -> apprise:1, apprise:2, …) against a local JSON endpoint.

Apprise's ``json://host:port/path`` posts ``{"title", "message", "type", ...}`` to
``http://host:port/path``; the fake below checks that, answers by script, and lets the
same Deliverer, ledger and worker as every other channel do the rest.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_push.channels import HttpClients, all_channels, channel_instances, enabled_ids, get_channel_class
from mcp_push.channels.apprise_urls import INSTALL_HINT, MAX_URLS, apprise_urls, secret_pieces
from mcp_push.errors import InputError
from mcp_push.notifier import Notifier
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from mcp_push.views import as_json
from tests.conftest import FakeClock, settings_for
from tests.fakes.base import FakeProvider, Recorded, Rejected, Reply
from tests.helpers import wait_until
from tests.server.conftest import server_env

pytest.importorskip("apprise")
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")  # inside apprise

TOKEN = "hK8vQ2mZx7RtY4wPbN6s"  # the secret part of the URL's path


class FakeJsonHook(FakeProvider):
    """A JSON webhook receiver, as Apprise's json:// talks to it."""

    replies = {
        "ok": Reply(200, {"ok": True}),
        "permanent": Reply(400, {"error": "bad request"}),
        "transient": Reply(500, {"error": "internal server error"}),
        "rate_limited": Reply(429, {"error": "slow down"}),
    }

    def __init__(self, path: str = f"/hooks/{TOKEN}") -> None:
        super().__init__()
        self.path = path

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != self.path:
            raise Rejected(f"bad request line {request.method} {request.path}", Reply(404, {"error": "not found"}))
        body = request.json()
        if not isinstance(body, dict) or not body.get("message") or "title" not in body:
            raise Rejected("missing title or message", Reply(400, {"error": "invalid"}))

    def apprise_url(self, path: str | None = None) -> str:
        return f"json://{self.url.removeprefix('http://')}{path or self.path}"


@pytest.fixture
def hook() -> Iterator[FakeJsonHook]:
    fake = FakeJsonHook().start()
    yield fake
    fake.stop()


@pytest.fixture
def second() -> Iterator[FakeJsonHook]:
    fake = FakeJsonHook("/second/endpoint").start()
    yield fake
    fake.stop()


class Harness:
    """The contract suite's pattern: one ledger, one Deliverer, a fake clock; deliver one ticket."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "5"})
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.ledger = SqliteLedger(self.settings.ledger_path)
        self.clients = HttpClients(self.settings.http_timeout)
        self.clock = FakeClock(time.time())
        self.enqueued: list[tuple[int, float]] = []
        self.deliverer = Deliverer(
            self.settings,
            self.ledger,
            self.clients,
            "test-owner",
            lambda i, d: self.enqueued.append((i, d)),
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def deliver(self, channel: str = "apprise:1", title: str = "Build finished", content: str = "All green."):
        record, _ = self.ledger.create_ticket(
            NewTicket(f"tk-{time.monotonic_ns()}", "run-1", title, content, self.clock(), (channel,))
        )
        delivery_id = record.deliveries[0].id
        outcome = self.deliverer.run(delivery_id)
        delivery = self.ledger.get_delivery(delivery_id)
        assert delivery is not None
        return outcome, delivery

    def stored(self) -> str:
        return "\n".join(
            repr(row) for table in ("tickets", "deliveries", "attempts") for row in self.ledger.dump_table(table)
        )

    def close(self) -> None:
        self.clients.close()
        self.ledger.close()


@pytest.fixture
def harness(tmp_path):
    opened: list[Harness] = []

    def make(env: dict[str, str]) -> Harness:
        h = Harness(tmp_path / f"h{len(opened)}", env)
        opened.append(h)
        return h

    yield make
    for h in opened:
        h.close()


# --- configuration: ids, parsing, listing --------------------------------------------------------


def test_urls_split_on_spaces_and_commas_but_keep_commas_inside_a_url() -> None:
    env = {
        "APPRISE_URLS": " json://a.example/x ,ntfy://topic\n"
        "mailto://u:p@mail.example?to=a@b.example,c@d.example, tgram://123:ABC/456 "
    }
    assert apprise_urls(env) == [
        "json://a.example/x",
        "ntfy://topic",
        "mailto://u:p@mail.example?to=a@b.example,c@d.example",
        "tgram://123:ABC/456",
    ]
    assert apprise_urls({}) == [] and apprise_urls({"APPRISE_URLS": "  \n "}) == []


def test_one_channel_per_url_with_numbered_ids() -> None:
    env = {"APPRISE_URLS": "json://one.example/a json://two.example/b"}
    ids = [cid for cid in enabled_ids(env) if cid.startswith("apprise:")]
    assert ids == ["apprise:1", "apprise:2"]
    assert "apprise:1" in all_channels() and "apprise:2" not in all_channels()  # the provider; URLs make more
    crowded = {"APPRISE_URLS": " ".join(f"json://h{i}.example/p" for i in range(MAX_URLS + 1))}
    known = [cls.id for cls in channel_instances(crowded)]
    assert known.index("apprise:2") < known.index("apprise:10")  # natural order
    assert f"apprise:{MAX_URLS + 1}" not in known and get_channel_class(f"apprise:{MAX_URLS + 1}") is None
    assert get_channel_class("apprise:2").url(env) == "json://two.example/b"  # type: ignore[union-attr]
    assert not get_channel_class("apprise:3").enabled(env)  # type: ignore[union-attr]
    assert enabled_ids({}) == [cid for cid in enabled_ids({}) if not cid.startswith("apprise:")]


def test_a_missing_position_says_how_many_urls_there_are(make_settings) -> None:
    runtime = Runtime.open(make_settings({"APPRISE_URLS": "json://one.example/a json://two.example/b"}))
    try:
        with pytest.raises(InputError, match=r"APPRISE_URLS \(it has 2 URLs; apprise:3 is URL number 3\)"):
            Notifier(runtime).send("t", "c", channels=["apprise:3"])
    finally:
        runtime.close()


def test_channels_listing_masks_every_url(make_settings) -> None:
    env = {"APPRISE_URLS": f"json://127.0.0.1:9/hooks/{TOKEN} tgram://123456789:AAFbcDEFghijk/987654321"}
    runtime = Runtime.open(make_settings(env))
    try:
        doc = Notifier(runtime).channels()
    finally:
        runtime.close()
    views = {v.id: v for v in doc.channels if v.id.startswith("apprise:")}
    assert list(views) == ["apprise:1", "apprise:2"] and all(v.enabled for v in views.values())
    assert views["apprise:1"].settings["APPRISE_URLS"] == "json://*** (URL 1 of 2)"
    assert views["apprise:2"].settings["APPRISE_URLS"] == "tgram://*** (URL 2 of 2)"
    assert "apprise:1" in doc.enabled and "apprise:2" in doc.enabled
    dumped = as_json(doc)
    assert TOKEN not in dumped and "AAFbcDEFghijk" not in dumped


def test_more_urls_than_slots_are_reported(make_settings) -> None:
    urls = " ".join(f"json://h{i}.example/p" for i in range(MAX_URLS + 2))
    runtime = Runtime.open(make_settings({"APPRISE_URLS": urls}))
    try:
        doc = Notifier(runtime).channels()
    finally:
        runtime.close()
    last = next(v for v in doc.channels if v.id == f"apprise:{MAX_URLS}")
    assert "2 more are ignored" in last.settings["note"]


def test_credentials_in_urls_are_secrets() -> None:
    assert {"123456789", "AAFbcDEFghijk", "987654321"} <= set(
        secret_pieces("tgram://123456789:AAFbcDEFghijk/987654321")
    )
    assert TOKEN in secret_pieces(f"json://127.0.0.1:8080/hooks/{TOKEN}")
    assert {"alice", "hunter2"} <= set(secret_pieces("mailto://alice:hunter2@gmail.com"))
    assert "hooks" not in secret_pieces(f"json://h.example/hooks/{TOKEN}")  # plain words stay readable


# --- through the Deliverer ----------------------------------------------------------------------------


def test_delivered_through_apprise(harness, hook, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness({"APPRISE_URLS": hook.apprise_url()})
    outcome, delivery = h.deliver(title="Deploy done", content="v1.2 is live")
    assert hook.problems == []
    assert outcome == "delivered" and (delivery.status, delivery.attempts) == ("delivered", 1)
    (request,) = hook.requests
    assert request.json()["title"] == "Deploy done" and request.json()["message"] == "v1.2 is live"
    assert TOKEN not in h.stored() and TOKEN not in caplog.text


def test_false_from_apprise_is_transient_with_its_reason_redacted(harness, hook, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    hook.default_mode = "transient"
    h = harness({"APPRISE_URLS": hook.apprise_url()})
    outcome, delivery = h.deliver()
    assert outcome == "retrying"
    assert (delivery.status, delivery.attempts) == ("retrying", h.settings.try_attempts)
    assert "Apprise could not deliver to json://" in (delivery.last_error or "")
    assert "500" in (delivery.last_error or "")  # Apprise's own words, not just "False"
    assert h.enqueued and h.enqueued[-1][1] >= h.settings.retry_base
    assert len(hook.requests) == h.settings.try_attempts
    assert hook.problems == []
    assert TOKEN not in h.stored() and TOKEN not in caplog.text


def test_transient_then_delivered(harness, hook) -> None:
    hook.script("transient", "ok")
    h = harness({"APPRISE_URLS": hook.apprise_url()})
    outcome, delivery = h.deliver()
    assert outcome == "delivered" and delivery.attempts == 2
    assert hook.problems == []


def test_unreachable_endpoint_is_transient_and_host_is_not_leaked(harness) -> None:
    h = harness({"APPRISE_URLS": f"json://127.0.0.1:9/hooks/{TOKEN}"})  # port 9: nothing listens
    outcome, delivery = h.deliver()
    assert outcome == "retrying" and "Apprise could not deliver" in (delivery.last_error or "")
    assert TOKEN not in h.stored()


def test_a_url_apprise_does_not_understand_fails_at_once(harness) -> None:
    h = harness({"APPRISE_URLS": "nosuchservice://whatever/abc"})
    outcome, delivery = h.deliver()
    assert outcome == "failed" and delivery.attempts == 1
    assert "does not understand APPRISE_URLS URL number 1 (nosuchservice://…)" in (delivery.last_error or "")


def test_two_urls_are_two_channels(harness, hook, second) -> None:
    h = harness({"APPRISE_URLS": f"{hook.apprise_url()},{second.apprise_url()}"})
    assert h.deliver("apprise:1")[0] == "delivered"
    assert h.deliver("apprise:2")[0] == "delivered"
    assert len(hook.requests) == 1 and len(second.requests) == 1
    assert hook.problems == [] and second.problems == []


# --- without the extra --------------------------------------------------------------------------------


@pytest.fixture
def no_apprise(monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` now raises ImportError


def test_without_the_extra_the_delivery_says_what_to_install(no_apprise, harness, hook) -> None:
    h = harness({"APPRISE_URLS": hook.apprise_url()})
    outcome, delivery = h.deliver()
    assert outcome == "failed" and delivery.attempts == 1
    assert INSTALL_HINT in (delivery.last_error or "")
    assert hook.requests == []


def test_without_the_extra_the_channel_listing_says_what_to_install(no_apprise, make_settings, hook) -> None:
    runtime = Runtime.open(make_settings({"APPRISE_URLS": hook.apprise_url()}))
    try:
        doc = Notifier(runtime).channels()
    finally:
        runtime.close()
    view = next(v for v in doc.channels if v.id == "apprise:1")
    assert view.settings["apprise"] == f"not installed: {INSTALL_HINT}"


def test_mcp_push_channels_without_the_extra(tmp_path, hook) -> None:
    probe = (
        "import sys; sys.modules['apprise'] = None; from mcp_push.cli import main; raise SystemExit(main(['channels']))"
    )
    env = server_env(tmp_path / "home", {"APPRISE_URLS": hook.apprise_url()})
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "apprise:1: enabled" in done.stdout
    assert f"apprise=not installed: {INSTALL_HINT}" in done.stdout
    assert TOKEN not in done.stdout


# --- end to end: Notifier -> ledger -> Huey -> Worker -> Apprise -> fake ----------------------------------


def test_end_to_end_through_notifier_and_worker(make_settings, hook, second) -> None:
    env = {"APPRISE_URLS": f"{hook.apprise_url()} {second.apprise_url()}", "MCP_PUSH_RETRY_BASE": "0.3"}
    env["MCP_PUSH_SOURCE"] = "off"  # the message exactly as sent, without the source line
    runtime = Runtime.open(make_settings(env))
    worker = Worker(runtime, threads=2)
    worker.start()
    try:
        notifier = Notifier(runtime)
        receipt = notifier.send("Nightly build", "Green across the board", run_id="nightly-7")
        assert receipt.channels == ["apprise:1", "apprise:2"]
        doc = wait_until(
            lambda: (d := notifier.status(ticket=receipt.ticket)).final and d, timeout=30, what="apprise deliveries"
        )
        assert doc.status == "success"
        assert {d.channel: d.status for d in doc.tickets[0].deliveries} == {
            "apprise:1": "delivered",
            "apprise:2": "delivered",
        }
    finally:
        worker.stop(timeout=2)
        runtime.close()
    assert hook.requests[0].json()["message"] == "Green across the board"
    assert second.requests[0].json()["title"] == "Nightly build"
    assert hook.problems == [] and second.problems == []


def test_end_to_end_retry_after_a_failure(make_settings, hook) -> None:
    hook.script("transient", "transient", "transient")  # one whole in-task round fails
    env = {"APPRISE_URLS": hook.apprise_url(), "MCP_PUSH_RETRY_BASE": "0.3", "MCP_PUSH_TRY_WAIT_MAX": "0.2"}
    runtime = Runtime.open(make_settings(env))
    worker = Worker(runtime, threads=2)
    worker.start()
    try:
        notifier = Notifier(runtime)
        receipt = notifier.send("t", "c", channels=["apprise:1"])
        doc = wait_until(lambda: (d := notifier.status(ticket=receipt.ticket)).final and d, timeout=30, what="retry")
        delivery = doc.tickets[0].deliveries[0]
        assert delivery.status == "delivered" and delivery.attempts == 4
    finally:
        worker.stop(timeout=2)
        runtime.close()
    assert hook.problems == []


def test_a_password_holding_slash_or_at_is_a_secret_piece() -> None:
    """Apprise URLs are read for credentials by channels/redact.py's one parser, like every other URL."""
    pieces = set(secret_pieces("mailto://alice:hu/nt%40er@gmail.com"))
    assert {"alice", "hu/nt%40er", "hu/nt@er"} <= pieces
