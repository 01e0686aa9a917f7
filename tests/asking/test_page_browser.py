"""The answer page in headless Chromium: a person opens the link and presses a button."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.applications import Starlette

from mcp_push.asking.page import answer_routes
from mcp_push.asking.tokens import AnswerKey
from mcp_push.http_guard import Gate, HostRules
from mcp_push.storage import NewTicket
from mcp_push.storage.base import NewAsk
from mcp_push.tasks.runtime import Runtime
from tests.asking.cdp import Browser
from tests.dashboard import browser


class LateGate:
    """The Gate, built once the test server knows its port (the Host rules name it)."""

    def __init__(self, runtime: Runtime):
        self.inner = Starlette(routes=answer_routes(runtime))
        self.app: Gate | None = None

    def bind(self, url: str) -> None:
        self.app = Gate(self.inner, rules=HostRules("127.0.0.1", int(url.rsplit(":", 1)[1])))

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        assert self.app is not None
        await self.app(scope, receive, send)


def test_a_person_presses_deny_in_a_real_browser(make_settings, tmp_path: Path) -> None:
    binary = browser.require_chromium()
    runtime = Runtime.open(make_settings({}))
    try:
        now = time.time()
        ticket = "tk-0193ab00000000c0ffee"
        question = "Claude Code wants to use Bash in shop-api.\n\nrm -rf node_modules"
        runtime.ledger.create_ticket(
            NewTicket(
                ticket, "claude:s1", "❓ Claude Code wants to use Bash", question, now, (), "ask", None, None, None,
                ask=NewAsk(question, ("Allow", "Always allow", "Deny"), False, now + 300, "permission"),
            )
        )  # fmt: skip
        token = AnswerKey.load(runtime.settings.home).sign(ticket, "a")
        app = LateGate(runtime)
        with browser.serve(app) as url:
            app.bind(url)
            chrome = Browser(binary, tmp_path / "profile")
            try:
                chrome.open(f"{url}/answer/{token}")
                shown = chrome.evaluate("document.body.innerText")
                assert "rm -rf node_modules" in shown and "Always allow" in shown
                labels = chrome.evaluate("[...document.querySelectorAll('button')].map(b => b.textContent)")
                assert labels == ["Allow", "Always allow", "Deny"]
                assert runtime.ledger.get_ask(ticket).status == "waiting"  # type: ignore[union-attr]
                chrome.click_and_wait("button[value='2']")
                assert "Answered: Deny" in chrome.evaluate("document.body.innerText")
                chrome.open(f"{url}/answer/{token}")  # the link again (another tap on the notification)
                assert "Already answered" in chrome.evaluate("document.body.innerText")
                assert chrome.evaluate("document.querySelectorAll('button').length") == 0
            finally:
                chrome.close()
        ask = runtime.ledger.get_ask(ticket)
        assert ask is not None and (ask.status, ask.answer, ask.answered_via) == ("answered", "Deny", "link")
    finally:
        runtime.close()
