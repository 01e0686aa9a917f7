"""One table-driven suite, run against every channel's fake provider (tests/fakes/*.py).

For each channel: delivered; provider-reported failure -> failed after one attempt with the
provider's reason; transient -> retried then delivered; rate-limited -> waited as asked,
then delivered (or rescheduled when the provider asks for longer than we wait inline);
a provider that stays down -> 'retrying' with a later attempt scheduled; and no secret
anywhere in the ledger or the logs. In every case the fake found nothing wrong with the
request (``fake.problems == []``): a scripted failure must not hide a wrong credential, and
each fake is shown to notice one. CJK and emoji in the title, the content and every free-text
setting a channel declares (``Setting.text``) are delivered intact.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

import tests.fakes
from mcp_push.channels import HttpClients, all_channels
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from tests.conftest import FakeClock, settings_for
from tests.fakes.base import ChannelCase, FakeProvider


def _cases() -> list[ChannelCase]:
    cases = []
    for info in pkgutil.iter_modules(tests.fakes.__path__):
        module = importlib.import_module(f"tests.fakes.{info.name}")
        if isinstance(getattr(module, "CASE", None), ChannelCase):
            cases.append(module.CASE)
    return sorted(cases, key=lambda c: c.channel)


CASES = _cases()


@dataclass
class Harness:
    case: ChannelCase
    fake: FakeProvider
    ledger: SqliteLedger
    deliverer: Deliverer
    clock: FakeClock
    enqueued: list[tuple[int, float]] = field(default_factory=list)

    def deliver(self, title: str = "Build finished", content: str = "All 42 tests passed.") -> tuple[str, int]:
        ticket = f"tk-{time.monotonic_ns()}"
        record, _ = self.ledger.create_ticket(
            NewTicket(ticket, "run-1", title, content, self.clock(), (self.case.channel,))
        )
        delivery_id = record.deliveries[0].id
        return self.deliverer.run(delivery_id), delivery_id

    def delivery(self, delivery_id: int):
        d = self.ledger.get_delivery(delivery_id)
        assert d is not None
        return d


def _harness(
    case: ChannelCase, tmp_path, tweak: Callable[[dict[str, str]], dict[str, str]] | None = None
) -> Iterator[Harness]:
    fake = case.fake().start()
    env = case.env(fake.url)
    env = tweak(env) if tweak else env
    fake.configure(env)
    settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "5"})
    settings.home.mkdir(parents=True, exist_ok=True)
    ledger = SqliteLedger(settings.ledger_path)
    clients = HttpClients(settings.http_timeout)
    clock = FakeClock(time.time())
    h = Harness(case, fake, ledger, None, clock)  # type: ignore[arg-type]
    h.deliverer = Deliverer(
        settings, ledger, clients, "test-owner", lambda i, d: h.enqueued.append((i, d)), clock=clock, sleep=clock.sleep
    )
    yield h
    clients.close()
    ledger.close()
    fake.stop()


@pytest.fixture(params=CASES, ids=[c.channel for c in CASES])
def harness(request: pytest.FixtureRequest, tmp_path) -> Iterator[Harness]:
    yield from _harness(request.param, tmp_path)


RATE_LIMITED = [c for c in CASES if c.rate_wait is not None]


@pytest.fixture(params=RATE_LIMITED, ids=[c.channel for c in RATE_LIMITED])
def rate_limited_harness(request: pytest.FixtureRequest, tmp_path) -> Iterator[Harness]:
    """Only channels whose provider documents a slow-down answer (the others have none to test)."""
    yield from _harness(request.param, tmp_path)


def assert_no_secret(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    stored = "\n".join(
        repr(row)
        for table in ("tickets", "deliveries", "attempts", "rate_slots", "workers", "delivery_targets", "channel_cache")
        for row in h.ledger.dump_table(table)
    )
    for secret in h.case.secrets:
        assert secret not in stored, f"{h.case.channel}: a secret reached the ledger"
        assert secret not in caplog.text, f"{h.case.channel}: a secret reached the logs"


def test_delivered(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    harness.fake.script("ok")
    outcome, did = harness.deliver()
    assert harness.fake.problems == []
    assert outcome == "delivered"
    d = harness.delivery(did)
    assert (d.status, d.attempts, d.last_error) == ("delivered", 1, None)
    assert d.delivered_at is not None
    assert len(harness.fake.requests) == 1
    assert_no_secret(harness, caplog)


def test_provider_reported_failure_fails_after_one_attempt(harness: Harness, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    harness.fake.default_mode = "permanent"
    outcome, did = harness.deliver()
    d = harness.delivery(did)
    assert outcome == "failed"
    assert (d.status, d.attempts) == ("failed", 1)
    assert harness.case.permanent_reason in (d.last_error or "")
    assert len(harness.fake.requests) == 1
    assert harness.fake.problems == []  # failed for the scripted reason, not a wrong credential
    assert harness.enqueued == []
    assert_no_secret(harness, caplog)


def test_transient_is_retried_then_delivered(harness: Harness, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    harness.fake.script("transient", "ok")
    outcome, did = harness.deliver()
    d = harness.delivery(did)
    assert outcome == "delivered"
    assert (d.status, d.attempts) == ("delivered", 2)
    assert len(harness.fake.requests) == 2
    assert harness.fake.problems == []
    assert_no_secret(harness, caplog)


def test_rate_limit_answer_is_waited_out(rate_limited_harness: Harness, caplog) -> None:
    harness = rate_limited_harness
    assert harness.case.rate_wait is not None
    caplog.set_level(logging.DEBUG)
    harness.fake.script("rate_limited", "ok")
    outcome, did = harness.deliver()
    d = harness.delivery(did)
    settings = harness.deliverer.settings
    if harness.case.rate_wait <= settings.try_wait_max:
        assert outcome == "delivered"
        assert d.attempts == 2
        assert max(harness.clock.sleeps) >= harness.case.rate_wait
    else:
        # The provider asked for longer than a worker should hold a delivery: rescheduled.
        assert outcome == "retrying"
        assert d.next_attempt_at is not None
        assert d.next_attempt_at >= harness.clock() + harness.case.rate_wait - 1
        assert harness.enqueued and harness.enqueued[-1][1] >= harness.case.rate_wait
    assert harness.fake.problems == []
    assert_no_secret(harness, caplog)


def test_provider_down_goes_to_retrying(harness: Harness, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    harness.fake.default_mode = "transient"
    outcome, did = harness.deliver()
    d = harness.delivery(did)
    settings = harness.deliverer.settings
    assert outcome == "retrying"
    assert (d.status, d.attempts) == ("retrying", settings.try_attempts)
    assert d.last_error
    assert harness.enqueued == [(did, settings.retry_base)]
    assert harness.fake.problems == []
    assert_no_secret(harness, caplog)


# --- every fake notices a wrong credential ------------------------------------------------------
def _wrong(secret: str) -> str:
    """The same secret with its last letter or digit changed: the shape stays right, the value does not."""
    i = max(j for j, ch in enumerate(secret) if ch.isalnum())
    return secret[:i] + ("x" if secret[i] != "x" else "y") + secret[i + 1 :]


WRONG_CREDENTIALS = [
    pytest.param(case, secret, id=f"{case.channel}-{n}")
    for case in CASES
    for n, secret in enumerate(case.secrets)
    if any(secret in value for value in case.env("http://127.0.0.1:9").values())
]


@pytest.mark.parametrize(("case", "secret"), WRONG_CREDENTIALS)
def test_the_fake_notices_a_wrong_credential(case: ChannelCase, secret: str, tmp_path) -> None:
    """What makes ``problems == []`` above mean something: a wrong credential never passes as right."""

    def wrong(env: dict[str, str]) -> dict[str, str]:
        return {k: v.replace(secret, _wrong(secret)) for k, v in env.items()}

    with contextmanager(_harness)(case, tmp_path, wrong) as h:
        outcome, _ = h.deliver()
        assert outcome != "delivered"
        assert h.fake.problems, f"{case.channel}: the fake accepted a wrong credential"


# --- CJK and emoji everywhere a person writes text ----------------------------------------------
UNICODE_TITLE = "构建完成 ✅ 🚀 Build done"
UNICODE_CONTENT = "所有测试通过 🎉\n第二行：部署到生产环境"
# Free-text settings with a shape of their own, and the part of each that must reach the provider;
# any other text setting is set to UNICODE_SETTING, all of which must arrive.
UNICODE_SAMPLES = {
    "NTFY_ACTIONS": ("view, 打开 CI 🚀, https://ci.example.com/runs/42", "打开 CI 🚀"),
    "WEBHOOK_BODY": ('title: $title\ntext: $content\nsource: "mcp-push 构建机 🤖"', "mcp-push 构建机 🤖"),
}
UNICODE_SETTING = "构建机器人 🤖 告警群"


def _unicode_settings(channel: str) -> dict[str, tuple[str, str]]:
    """(value, what must arrive) for every free-text setting the channel declares."""
    cls = all_channels()[channel]
    return {s.name: UNICODE_SAMPLES.get(s.name, (UNICODE_SETTING, UNICODE_SETTING)) for s in cls.settings if s.text}


def test_text_settings_are_declared() -> None:
    """The free-text settings the CJK case below exercises (a new one is picked up by itself)."""
    declared = {s.name for cls in all_channels().values() for s in cls.settings if s.text}
    assert {"NTFY_ACTIONS", "AIBOTK_NAME", "BARK_GROUP", "WEBHOOK_BODY", "SMTP_NAME"} <= declared


@pytest.mark.parametrize("case", CASES, ids=[c.channel for c in CASES])
def test_cjk_and_emoji_in_every_text_setting_are_delivered(case: ChannelCase, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    samples = _unicode_settings(case.channel)
    unicode_env = {name: value for name, (value, _) in samples.items()}
    with contextmanager(_harness)(case, tmp_path, lambda env: {**env, **unicode_env}) as h:
        outcome, did = h.deliver(UNICODE_TITLE, UNICODE_CONTENT)
        d = h.delivery(did)
        assert not (d.last_error or "").startswith("internal error"), d.last_error
        assert (outcome, d.last_error) == ("delivered", None)
        assert h.fake.problems == []
        received = "\n".join(r.text() for r in h.fake.requests)
        assert "构建完成 ✅ 🚀" in received, f"{case.channel}: the title did not arrive intact"
        assert "第二行" in received, f"{case.channel}: the content did not arrive intact"
        for name, (_, arrives) in samples.items():
            assert arrives in received, f"{case.channel}: {name} did not arrive intact"
        assert_no_secret(h, caplog)
