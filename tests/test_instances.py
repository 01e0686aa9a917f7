"""Several accounts of one provider: ``TG_BOT_TOKEN_2`` and ``TG_USER_ID_2`` make ``telegram:2``, for
every channel, with no code of the channel's own. Each instance reads only its numbered variables, is
listed, routed, rate-limited, redacted and listened to as a channel of its own; apprise keeps its
numbering by URL position."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mcp_push.asking import telegram_listener
from mcp_push.asking.tokens import AnswerKey
from mcp_push.channels import (
    HttpClients,
    all_channels,
    channel_instances,
    configured_channels,
    configured_secrets,
    declared_variables,
    enabled_ids,
    get_channel_class,
    known_id,
)
from mcp_push.channels.base import MAX_INSTANCES, Channel, HttpChannel, Message, NumberedEnv, short_hash
from mcp_push.errors import InputError
from mcp_push.notifier import Notifier
from mcp_push.shell_env import is_wanted, wanted_names
from mcp_push.storage import NewTicket, SqliteLedger, open_ledger
from mcp_push.tasks.delivery import Deliverer
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.asking.two_way import Home
from tests.conftest import FakeClock, settings_for
from tests.fakes.base import FakeProvider, Recorded, Reply
from tests.fakes.telegram import CHAT, TOKEN, FakeTelegram
from tests.helpers import wait_until
from tests.server.conftest import server_env

ROOT = Path(__file__).resolve().parents[1]
TOKEN2 = "5550001111:BBHsecondBotTokenForInstanceTwo12345"
CHAT2 = "2223334445"
NUMBERED_ONLY = [cls for cls in all_channels().values() if cls.base_id != "apprise"]  # apprise: by URL


class SecondBot(FakeTelegram):
    """The Telegram fake as bot TOKEN2 writing to CHAT2. A request is translated to the fake's own TOKEN
    and CHAT before the fake checks it, so everything else it checks still holds; a request with any
    other token (bot 1's) or to any other chat is a problem."""

    def _answer(self, request: Recorded) -> Reply:
        prefix = f"/bot{TOKEN2}/"
        if not request.path.startswith(prefix):
            with self._lock:
                self.problems.append(f"a request for another bot: {request.path[:16]}…")
            return Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        body = request.body
        if body and request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(body)
            if "chat_id" in params:
                params["chat_id"] = CHAT if str(params["chat_id"]) == CHAT2 else f"not-{params['chat_id']}"
            body = json.dumps(params).encode()
        return super()._answer(
            dataclasses.replace(request, path=f"/bot{TOKEN}/{request.path[len(prefix) :]}", body=body)
        )


@pytest.fixture
def bot2() -> Iterator[SecondBot]:
    provider = SecondBot().start()
    yield provider
    provider.stop()


def two_bots(one: FakeTelegram, two: FakeTelegram) -> dict[str, str]:
    return {
        "TG_BOT_TOKEN": TOKEN,
        "TG_USER_ID": CHAT,
        "MCP_PUSH_ORIGIN_TELEGRAM": one.url,
        "TG_BOT_TOKEN_2": TOKEN2,
        "TG_USER_ID_2": CHAT2,
        "MCP_PUSH_ORIGIN_TELEGRAM_2": two.url,
    }


class Recording(Mapping[str, str]):
    """An environment that remembers every variable read from it."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self.env[name]

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return name in self.env

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


class Offline(HttpClients):
    def get(self, proxy: str | None = None) -> Any:
        raise ConnectionRefusedError("offline: this test sends nothing")


def _values(cls: type[Channel]) -> dict[str, str]:
    """A complete configuration from the declared examples."""
    return {s.name: s.example or "value" for s in cls.settings}


def _numbered(env: Mapping[str, str], number: int) -> dict[str, str]:
    return {f"{name}_{number}": value for name, value in env.items()}


# --- the registry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("base", NUMBERED_ONLY, ids=[cls.id for cls in NUMBERED_ONLY])
def test_every_channel_has_instances_that_read_only_their_numbered_variables(base: type[Channel]) -> None:
    plain = _values(base)
    numbered = _numbered(plain, 2)
    names = {s.name for s in base.settings}
    inst = base.instance(2)
    assert (inst.id, inst.base_id, inst.number, inst.provider()) == (f"{base.base_id}:2", base.base_id, 2, base)
    assert inst is base.instance(2) is get_channel_class(inst.id) and inst.instance(1) is base
    assert issubclass(inst, base) and inst.name == base.name and inst.settings == base.settings
    # Configured by the numbered variables exactly as instance 1 is by the plain ones, and never by those.
    assert inst.enabled(numbered) == base.enabled(plain) and inst.touched(numbered)
    assert not inst.touched(plain) and not inst.enabled(plain)
    assert not base.touched(numbered) and not base.enabled(numbered)
    assert base.instances(plain) == [base] and base.instances(numbered) == [base, inst]
    shown = inst.masked_settings(numbered)
    assert shown == {f"{k}_2": v for k, v in base.masked_settings(plain).items()}
    missing = inst.missing(plain)  # nothing of instance 1 counts: everything required is missing, by its _2 name
    assert len(missing) == len(base.missing({}))
    mentioned = [n for m in missing for n in re.findall(r"[A-Z][A-Z0-9_]*[A-Z0-9]", m) if n.removesuffix("_2") in names]
    assert mentioned and all(n.endswith("_2") for n in mentioned), missing
    # Built with every way in: the variables it reads are its own numbered ones and MCP_PUSH_*, nothing else.
    env = Recording({**plain, **numbered, "MCP_PUSH_HOME": "/nonexistent/mcp-push-home"})
    channel = inst(env, clients=Offline(1.0))
    assert isinstance(channel.env, NumberedEnv) and channel.id == inst.id
    assert {plain[s.name] for s in base.settings if s.secret} <= set(channel.secret_values())
    key = channel.rate_key()
    if type(channel).rate_key is Channel.rate_key:
        assert key == inst.id  # a bucket of its own
    if isinstance(channel, HttpChannel):
        try:
            channel.request(Message("Build finished", "All **42** tests passed.", event="end"))
        except Exception as exc:  # a channel that must fetch a credential first (offline here)
            assert "offline" in str(exc) or isinstance(exc, ConnectionRefusedError), exc
    foreign = {n for n in env.read if n in names}
    assert not foreign, f"{inst.id} read instance 1's variables {sorted(foreign)}"
    assert {n for n in env.read if not n.startswith("MCP_PUSH_")} <= set(numbered), sorted(env.read)


def test_instance_numbers_and_ids() -> None:
    telegram = all_channels()["telegram"]
    assert telegram.number == 1 and telegram.instance(1) is telegram
    assert telegram.instance(MAX_INSTANCES).id == f"telegram:{MAX_INSTANCES}"
    with pytest.raises(ValueError, match="instances 1 to 9"):
        telegram.instance(MAX_INSTANCES + 1)
    assert get_channel_class("telegram") is telegram and get_channel_class("telegram:2") is telegram.instance(2)
    for unknown in (
        "telegram:1",
        "telegram:0",
        "telegram:10",
        "telegram:02",
        "telegram:²",
        "telegram:",
        ":2",
        "nope:2",
    ):
        assert get_channel_class(unknown) is None and not known_id(unknown), unknown
    assert known_id("ntfy:9") and known_id("apprise:10") and not known_id("apprise:11") and not known_id("apprise")


def test_listing_includes_every_configured_instance_in_natural_order() -> None:
    env = {
        "TG_BOT_TOKEN": TOKEN,
        "TG_USER_ID": CHAT,
        "TG_BOT_TOKEN_3": TOKEN2,
        "TG_USER_ID_3": CHAT2,
        "TG_BOT_TOKEN_2": TOKEN2,  # no TG_USER_ID_2: incomplete
        "NTFY_TOPIC_9": "alerts-nine",
        "CONSOLE_2": "true",
    }
    assert [cls.id for cls in configured_channels(env)] == [
        "console:2",
        "ntfy:9",
        "telegram",
        "telegram:2",
        "telegram:3",
    ]
    assert enabled_ids(env) == ["console:2", "ntfy:9", "telegram", "telegram:3"]
    listed = [cls.id for cls in channel_instances(env)]
    assert listed.index("console") < listed.index("console:2") < listed.index("dingtalk")
    assert "ntfy" in listed and "telegram:4" not in listed  # instance 1 always listed; others when set
    assert get_channel_class("telegram:2").missing(env) == ["TG_USER_ID_2"]  # type: ignore[union-attr]
    assert all(cls.number == 1 for cls in all_channels().values())  # providers only, whatever the environment


def test_numbered_names_collide_with_no_declared_name() -> None:
    plain = {s.name for cls in all_channels().values() for s in cls.settings}
    suffixed = [name for name in plain if re.search(r"_\d+$", name)]
    assert not suffixed, f"a declared name ending in _<n> would read as an instance's: {suffixed}"
    assert plain <= declared_variables()
    assert {"TG_BOT_TOKEN_2", "TG_USER_ID_9", "NTFY_TOPIC_5", "QYWX_AM_2"} <= declared_variables()
    assert not {"TG_BOT_TOKEN_10", "TG_BOT_TOKEN_1", "APPRISE_URLS_2"} & declared_variables()


@pytest.mark.parametrize("provider", list(all_channels()))
def test_a_providers_variables_are_what_its_instances_read(provider: str) -> None:
    cls = all_channels()[provider]
    read = {cls.instance(n).variable(s.name) for n in range(1, cls.max_number + 1) for s in cls.settings}
    assert set(cls.variables()) == read


def test_the_login_shell_import_takes_numbered_names() -> None:
    names = wanted_names()
    assert {"TG_BOT_TOKEN", "TG_BOT_TOKEN_2", "TG_USER_ID_9", "APPRISE_URLS", "HITOKOTO"} <= names
    assert is_wanted("SMTP_PASSWORD_3", names) and not is_wanted("TG_BOT_TOKEN_10", names)
    assert not is_wanted("HOME", names)


def test_origin_of_an_instance_falls_back_to_its_providers(make_settings) -> None:
    settings = make_settings(
        {"MCP_PUSH_ORIGIN_TELEGRAM": "http://127.0.0.1:9/one", "MCP_PUSH_ORIGIN_NTFY_2": "http://127.0.0.1:9/n2"}
    )
    assert settings.origin_for("telegram") == settings.origin_for("telegram:2") == "http://127.0.0.1:9/one"
    assert settings.origin_for("ntfy:2") == "http://127.0.0.1:9/n2" and settings.origin_for("ntfy") is None
    assert settings.origin_for("ntfy:3") is None and settings.origin_for("apprise:2") is None


def test_secrets_of_every_instance_are_known_to_the_redactors(make_settings) -> None:
    from mcp_push.dashboard.snapshot import secret_scrubber

    env = {"NTFY_TOPIC": "first-topic-7c1d", "NTFY_TOPIC_2": "second-topic-9b3e", "NTFY_PASSWORD_2": "hunter2-second"}
    env |= {"TG_BOT_TOKEN_3": TOKEN2}  # incomplete (no TG_USER_ID_3): its secret is masked all the same
    secrets = configured_secrets(env)
    assert {"first-topic-7c1d", "second-topic-9b3e", "hunter2-second", TOKEN2} <= set(secrets)
    scrub = secret_scrubber(make_settings(env))
    shown = scrub("403 for second-topic-9b3e with hunter2-second and first-topic-7c1d")
    assert "second-topic-9b3e" not in shown and "hunter2-second" not in shown and "first-topic-7c1d" not in shown
    channel = get_channel_class("ntfy:2")(env, clients=Offline(1.0))  # type: ignore[misc]
    assert "second-topic-9b3e" not in (channel.redact("no such topic second-topic-9b3e") or "")


# --- sending ----------------------------------------------------------------------------------------


class Harness:
    """A ledger, a Deliverer and a fake clock (rate waits advance it): deliver one ticket at a time."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "5", "MCP_PUSH_SOURCE": "off"})
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.ledger = SqliteLedger(self.settings.ledger_path)
        self.clients = HttpClients(self.settings.http_timeout)
        self.clock = FakeClock(time.time())
        self.deliverer = Deliverer(
            self.settings,
            self.ledger,
            self.clients,
            "test-owner",
            lambda i, d: None,
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def deliver(self, channel: str) -> tuple[str, Any]:
        new = NewTicket(f"tk-{time.monotonic_ns()}", "run-1", "Build finished", "All green.", self.clock(), (channel,))
        record, _ = self.ledger.create_ticket(new)
        delivery_id = record.deliveries[0].id
        outcome = self.deliverer.run(delivery_id)
        return outcome, self.ledger.get_delivery(delivery_id)

    def close(self) -> None:
        self.clients.close()
        self.ledger.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Any]:
    opened: list[Harness] = []

    def make(env: dict[str, str]) -> Harness:
        opened.append(Harness(tmp_path / f"h{len(opened)}", env))
        return opened[-1]

    yield make
    for h in opened:
        h.close()


def _sent(fake: FakeTelegram) -> list[Recorded]:
    return [r for r in fake.requests if r.path.endswith("/sendMessage")]


def test_a_message_for_telegram_2_goes_with_bot_2_to_chat_2_only(
    make_settings, telegram: FakeTelegram, bot2: SecondBot
) -> None:
    runtime = Runtime.open(make_settings(two_bots(telegram, bot2)))
    worker = Worker(runtime, threads=1)
    worker.start()
    try:
        notifier = Notifier(runtime)
        receipt = notifier.send("Deploy done", "v1.2 is live", channels=["telegram:2"])
        assert receipt.channels == ["telegram:2"]
        doc = wait_until(lambda: (d := notifier.status(ticket=receipt.ticket)).final and d, what="the delivery")
        assert [(d.channel, d.status) for d in doc.tickets[0].deliveries] == [("telegram:2", "delivered")]
    finally:
        worker.stop(timeout=2)
        runtime.close()
    (request,) = _sent(bot2)
    assert request.path == f"/bot{TOKEN2}/sendMessage" and str(request.json()["chat_id"]) == CHAT2
    assert "Deploy done" in request.json()["text"]
    assert bot2.problems == [] and telegram.requests == []  # bot 1's token went nowhere


def test_a_default_send_goes_to_both_accounts(make_settings, telegram: FakeTelegram, bot2: SecondBot) -> None:
    runtime = Runtime.open(make_settings(two_bots(telegram, bot2)))
    worker = Worker(runtime, threads=2)
    worker.start()
    try:
        notifier = Notifier(runtime)
        receipt = notifier.send("Nightly", "Green")
        assert receipt.channels == ["telegram", "telegram:2"]
        doc = wait_until(lambda: (d := notifier.status(ticket=receipt.ticket)).final and d, what="both deliveries")
        assert {d.channel: d.status for d in doc.tickets[0].deliveries} == {
            "telegram": "delivered",
            "telegram:2": "delivered",
        }
    finally:
        worker.stop(timeout=2)
        runtime.close()
    assert [r.path for r in _sent(telegram)] == [f"/bot{TOKEN}/sendMessage"]
    assert [r.path for r in _sent(bot2)] == [f"/bot{TOKEN2}/sendMessage"]
    assert telegram.problems == [] and bot2.problems == []


def test_an_incomplete_instance_names_its_own_variable(make_settings, telegram: FakeTelegram) -> None:
    env = {
        "TG_BOT_TOKEN": TOKEN,
        "TG_USER_ID": CHAT,
        "MCP_PUSH_ORIGIN_TELEGRAM": telegram.url,
        "TG_BOT_TOKEN_2": TOKEN2,
    }
    runtime = Runtime.open(make_settings(env))
    try:
        notifier = Notifier(runtime)
        with pytest.raises(InputError, match=r"channel 'telegram:2' is not configured: set TG_USER_ID_2$"):
            notifier.send("t", "c", channels=["telegram:2"])
        with pytest.raises(
            InputError, match=r"channel 'telegram:4' is not configured: set TG_BOT_TOKEN_4, TG_USER_ID_4$"
        ):
            notifier.send("t", "c", channels=["telegram:4"])
        with pytest.raises(InputError, match=r"unknown channel 'telegram:10'.*<id>:2 … <id>:9"):
            notifier.send("t", "c", channels=["telegram:10"])
        doc = notifier.channels()
    finally:
        runtime.close()
    views = {v.id: v for v in doc.channels}
    assert list(views) == ["telegram", "telegram:2"] and doc.enabled == ["telegram"]
    assert views["telegram:2"].missing == ["TG_USER_ID_2"] and not views["telegram:2"].enabled
    assert views["telegram:2"].settings == {"TG_BOT_TOKEN_2": "555***45"}
    assert views["telegram:2"].rate_limit == views["telegram"].rate_limit


def test_mcp_push_channels_lists_the_instances_masked(tmp_path: Path) -> None:
    env = server_env(
        tmp_path / "home",
        {
            "TG_BOT_TOKEN": TOKEN,
            "TG_USER_ID": CHAT,
            "TG_BOT_TOKEN_2": TOKEN2,
            "TG_USER_ID_2": CHAT2,
            "TG_BOT_TOKEN_3": TOKEN2,
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "mcp_push", "channels"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "- telegram: enabled" in lines and "- telegram:2: enabled" in lines
    assert "- telegram:3: incomplete (missing TG_USER_ID_3)" in lines
    assert "    TG_BOT_TOKEN_2=555***45" in lines and f"    TG_USER_ID_2={CHAT2}" in lines
    assert TOKEN2 not in done.stdout and TOKEN not in done.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "mcp_push", "channels", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    doc = json.loads(as_json.stdout)
    assert doc["enabled"] == ["telegram", "telegram:2"] and TOKEN2 not in as_json.stdout


def test_rate_limit_buckets_are_per_instance(harness, telegram: FakeTelegram, bot2: SecondBot) -> None:
    h = harness(two_bots(telegram, bot2))
    assert h.deliver("telegram")[0] == "delivered"
    assert h.deliver("telegram:2")[0] == "delivered" and h.clock.sleeps == []  # its own bucket: no wait
    assert h.deliver("telegram")[0] == "delivered" and h.clock.sleeps and h.clock.sleeps[0] > 0.5  # one a second
    keys = {row["key"] for row in h.ledger.dump_table("rate_slots")}
    assert len(keys) == 2 and not any(TOKEN in k or TOKEN2 in k or TOKEN2.split(":")[1] in k for k in keys)
    assert f"telegram:{short_hash(TOKEN2)}:{CHAT2}" in keys
    # Two bots writing to one person count apart too: Telegram limits each bot on its own.
    same_chat = {**h.settings.env, "TG_BOT_TOKEN_3": TOKEN2, "TG_USER_ID_3": CHAT}
    one, three = (get_channel_class(c)(same_chat, clients=Offline(1.0)) for c in ("telegram", "telegram:3"))  # type: ignore[misc]
    assert one.rate_key() != three.rate_key()


class EchoNtfy(FakeProvider):
    """An ntfy server that refuses every publish, naming the topic in its error (as a proxy might)."""

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        return Reply(400, {"code": 40001, "http": 400, "error": f"invalid request for {request.path.strip('/')}"})


def test_an_instance_error_is_stored_without_its_secrets(harness) -> None:
    fake = EchoNtfy().start()
    try:
        topic = "second-account-topic-4e7a"
        h = harness({"NTFY_URL_2": fake.url, "NTFY_TOPIC_2": topic})
        outcome, delivery = h.deliver("ntfy:2")
    finally:
        fake.stop()
    assert outcome == "failed" and fake.requests[0].path == f"/{topic}"
    assert "invalid request for" in delivery.last_error and topic not in delivery.last_error
    stored = "\n".join(
        repr(row) for table in ("tickets", "deliveries", "attempts") for row in h.ledger.dump_table(table)
    )
    assert topic not in stored


def test_a_delivery_error_names_the_instances_variables(harness, bot2: SecondBot) -> None:
    bot2.default_mode = "permanent"  # "chat not found": the hint names the chat variable
    h = harness({"TG_BOT_TOKEN_2": TOKEN2, "TG_USER_ID_2": CHAT2, "MCP_PUSH_ORIGIN_TELEGRAM_2": bot2.url})
    outcome, delivery = h.deliver("telegram:2")
    assert outcome == "failed" and "check TG_USER_ID_2 " in delivery.last_error, delivery.last_error
    assert bot2.problems == []


# --- asks ---------------------------------------------------------------------------------------


@pytest.fixture
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_listener, "POLL_SECONDS", 1)


def test_an_ask_answered_on_telegram_2_reaches_the_ledger(
    tmp_path: Path, short_polls: None, telegram: FakeTelegram, bot2: SecondBot
) -> None:
    settings = settings_for(tmp_path / "home", two_bots(telegram, bot2))
    ledger = open_ledger(settings)
    clients = HttpClients(5)
    home = Home(settings, ledger, clients, AnswerKey.load(settings.home))
    try:
        ticket = home.send_ask(channels=("telegram:2",))
        message = bot2.wait_message()
        home.listen()
        stranger = bot2.press(message, "Deny", from_id=int(CHAT))  # bot 1's owner is no one to bot 2
        assert bot2.wait_callback_answer(stranger) == telegram_listener.STRANGER_TEXT
        query = bot2.press(message, "Allow", from_id=int(CHAT2))
        assert bot2.wait_callback_answer(query) == "Answered: Allow."
        ask = home.wait_status(ticket, "answered")
        assert (ask.answer, ask.answered_via, ask.answered_by) == ("Allow", "telegram:2", CHAT2)
        edit = bot2.wait_edit(message)
        assert edit["text"].endswith("✅ Answered: Allow (via telegram:2)")
        home.wait_closed(ticket)
        last = bot2.issued[-1]["update_id"]
        assert ledger.cursor_get(f"telegram:{short_hash(TOKEN2)}:offset") == str(last + 1)  # bot 2's own cursor
        wait_until(lambda: telegram.polls, what="bot 1 polled too")  # its own poller, its own lease
        assert ledger.cursor_get(f"telegram:{short_hash(TOKEN)}:offset") is None  # nothing for bot 1 to read
        assert bot2.problems == [] and telegram.problems == []
        assert all(r.path.startswith(f"/bot{TOKEN}/") for r in telegram.requests)
    finally:
        home.stop()
        clients.close()
        ledger.close()


def test_the_dashboard_draws_an_instance_as_its_provider_with_its_own_settings() -> None:
    from mcp_push.dashboard.message import as_sent

    message = Message("Deploy done", "v1.2 is **live**", event="end")
    env = {"TG_BOT_TOKEN": TOKEN, "TG_USER_ID": CHAT, "TG_BOT_TOKEN_2": TOKEN2, "TG_USER_ID_2": CHAT2}
    sent = as_sent("telegram:2", message, env)
    assert (sent.channel, sent.kind, sent.dialect) == ("telegram:2", "telegram", "telegram_html")
    assert str(sent.body["chat_id"]) == CHAT2 and "<b>live</b>" in sent.body["text"]
    assert as_sent("telegram:3", message, env).note == "not configured here: plain text"
    ntfy = as_sent("ntfy:2", message, {"NTFY_TOPIC_2": "second-topic-9b3e", "NTFY_PRIORITY_2": "4"})
    assert ntfy.kind == "ntfy" and ntfy.body["headers"]["Priority"] == "4"
