"""What the listener tests share: a home with Telegram and/or ntfy pointed at their fakes, asks
sent to them with buttons, and the answer listeners of a worker running against the ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mcp_push.asking.listeners import Listeners
from mcp_push.asking.tokens import AnswerKey
from mcp_push.channels import HttpClients, get_channel_class
from mcp_push.channels.base import AskPrompt, Message
from mcp_push.config import Settings
from mcp_push.notifier import new_ticket
from mcp_push.storage import open_ledger
from mcp_push.storage.base import AskRecord, Ledger, NewAsk, NewTicket
from tests.conftest import settings_for
from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import FakeTelegram
from tests.helpers import wait_until


def two_way_env(home: Path, telegram: FakeTelegram | None, ntfy: FakeNtfy | None) -> dict[str, str]:
    env = {"MCP_PUSH_HOME": str(home)}
    if telegram is not None:
        env.update(TELEGRAM.env(telegram.url))
    if ntfy is not None:
        env.update(NTFY.env(ntfy.url))
    return env


@dataclass
class Home:
    """A home, its ledger and key, and the answer listeners (started with ``listen``)."""

    settings: Settings
    ledger: Ledger
    clients: HttpClients
    key: AnswerKey
    running: list[tuple[Listeners, threading.Event]] = field(default_factory=list)

    def send_ask(
        self,
        question: str = "Run rm -rf build?",
        choices: tuple[str, ...] = ("Allow", "Deny"),
        *,
        channels: tuple[str, ...] | None = None,
        allow_text: bool = False,
        expires: float = 600.0,
        link: str | None = None,
    ) -> str:
        """Write an ask and send its message to ``channels`` (default: the home's two-way channels), as a
        worker does, recording each
        message's provider id on its delivery; return the ticket."""
        ticket, now = new_ticket(), time.time()
        if channels is None:  # every two-way channel this home configures
            channels = tuple(c for c in ("telegram", "ntfy") if get_channel_class(c).enabled(self.settings.env))  # type: ignore[union-attr]
        listed = "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1))
        title, content = f"❓ {question}", f"{question}\n\n{listed}" if choices else question
        new = NewAsk(question, choices, allow_text=allow_text, expires_at=now + expires)
        record, _ = self.ledger.create_ticket(NewTicket(ticket, "run-1", title, content, now, channels, "ask", ask=new))
        prompt = AskPrompt(choices, tuple(self.key.sign(ticket, str(i)) for i in range(len(choices))), allow_text, link)
        for delivery in record.deliveries:
            cls = get_channel_class(delivery.channel)
            assert cls is not None
            channel = cls(self.settings.env, clients=self.clients, origin=self.settings.origin_for(cls.id))
            assert self.ledger.claim(delivery.id, "test-sender", 30, now)
            receipt = channel.send(Message(title, content, "run-1", ticket, "ask", ask=prompt))
            self.ledger.settle(
                delivery.id, "test-sender", now, time.time(), "delivered", None, status="delivered",
                provider_id=receipt.provider_id,
            )  # fmt: skip
        return ticket

    def listen(self, owner: str = "worker-a") -> Listeners:
        stopped = threading.Event()
        listeners = Listeners(self.settings, self.ledger, self.clients, owner, stopped)
        listeners.start()
        self.running.append((listeners, stopped))
        return listeners

    def stop(self) -> None:
        for listeners, _ in self.running:
            listeners.stop(15)
        self.running.clear()

    def ask(self, ticket: str) -> AskRecord:
        found = self.ledger.get_ask(ticket)
        assert found is not None
        return found

    def wait_status(self, ticket: str, status: str, timeout: float = 15.0) -> AskRecord:
        wait_until(lambda: self.ask(ticket).status == status, timeout=timeout, what=f"ask {ticket} {status}")
        return self.ask(ticket)

    def wait_closed(self, ticket: str, timeout: float = 15.0) -> AskRecord:
        wait_until(lambda: self.ask(ticket).closed_at is not None, timeout=timeout, what=f"ask {ticket} closed")
        return self.ask(ticket)


@contextmanager
def open_home(
    tmp_path: Path, telegram: FakeTelegram | None = None, ntfy: FakeNtfy | None = None, *, db_url: str | None = None
) -> Iterator[Home]:
    """A home for the fakes given, its ledger in SQLite or (``db_url``) PostgreSQL."""
    home = tmp_path / "home"
    env = {**two_way_env(home, telegram, ntfy), **({"MCP_PUSH_DB_URL": db_url} if db_url else {})}
    settings = settings_for(home, env)
    ledger = open_ledger(settings)
    clients = HttpClients(5)
    h = Home(settings, ledger, clients, AnswerKey.load(settings.home))
    try:
        yield h
    finally:
        h.stop()
        clients.close()
        ledger.close()


@contextmanager
def ledger_url(backend: str) -> Iterator[str | None]:
    """None for SQLite; a fresh PostgreSQL schema's URL (skipped, or failed under CI, without the server)."""
    if backend == "sqlite":
        yield None
        return
    from tests.services import postgres_schema

    with postgres_schema() as url:
        yield url
