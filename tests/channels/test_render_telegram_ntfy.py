"""Telegram and ntfy render natively: HTML parse mode and Markdown, urgency, the link as a button."""

from __future__ import annotations

import pytest

from mcp_push.channels import HttpClients, Message
from mcp_push.channels.base import AskPrompt
from mcp_push.channels.ntfy import Ntfy
from mcp_push.channels.telegram import Telegram
from tests.fakes.base import Rejected
from tests.fakes.ntfy import TOKEN as NTFY_TOKEN
from tests.fakes.ntfy import TOPIC, FakeNtfy
from tests.fakes.telegram import CHAT, TOKEN, FakeTelegram, visible_text

URL = "https://ci.example.com/runs/42?tab=log&x=1"
ASK = AskPrompt(("Allow", "Deny"), ("tok-allow", "tok-deny"))


def tg(fake: FakeTelegram, clients: HttpClients, **env: str) -> Telegram:
    return Telegram({"TG_BOT_TOKEN": TOKEN, "TG_USER_ID": CHAT, **env}, clients=clients, origin=fake.url)


def nt(fake: FakeNtfy, clients: HttpClients, **env: str) -> Ntfy:
    settings = {"NTFY_URL": fake.url, "NTFY_TOPIC": TOPIC, "NTFY_TOKEN": NTFY_TOKEN, **env}
    fake.configure(settings)
    return Ntfy(settings, clients=clients)


# --- the fake rejects what Telegram rejects -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("x < 1", "Unclosed start tag"),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("</b>", "Unexpected end tag"),
        ("<script>alert(1)</script>", 'Unsupported start tag "script"'),
        ("<a>no link</a>", 'Tag "a" must have attribute "href"'),
        ("<code><b>x</b></code>", "can't be nested"),
    ],
)
def test_the_fake_refuses_html_telegram_cannot_parse(text: str, why: str) -> None:
    with pytest.raises(Rejected) as refused:
        visible_text(text)
    assert why in refused.value.reply.body["description"]
    assert refused.value.reply.body["description"].startswith("Bad Request: can't parse entities: ")


def test_the_fake_reads_html_as_telegram_shows_it() -> None:
    shown = visible_text(
        '<b>a &amp; b</b> &x <a href="https://x.example/?a=1&amp;b=2">l</a> <pre><code>1 &lt; 2</code></pre>'
    )
    assert shown == "a & b &x l 1 < 2"


# --- Telegram --------------------------------------------------------------------------------


def test_markdown_goes_as_telegram_html_with_the_title_in_bold(telegram: FakeTelegram, clients: HttpClients) -> None:
    message = Message("Build <main> & co", "**done** in `3 s` <script>", event="end", source="app · main · host")
    tg(telegram, clients).send(message)
    assert telegram.problems == []
    (request,) = telegram.requests
    body = request.json()
    assert body["parse_mode"] == "HTML" and "disable_notification" not in body
    assert body["text"] == (
        "<b>Build &lt;main&gt; &amp; co</b>\n\n"
        "<b>done</b> in <code>3 s</code> &lt;script&gt;\n\n<i>app · main · host</i>"
    )


def test_a_low_message_is_silent_and_the_url_is_an_open_button(telegram: FakeTelegram, clients: HttpClients) -> None:
    tg(telegram, clients).send(Message("Progress", "50 %", event="update", url=URL))
    assert telegram.problems == []
    body = telegram.requests[0].json()
    assert body["disable_notification"] is True
    assert body["reply_markup"] == {"inline_keyboard": [[{"text": "Open", "url": URL}]]}
    assert URL not in body["text"]  # the button carries it


def test_the_url_button_joins_the_ask_buttons(telegram: FakeTelegram, clients: HttpClients) -> None:
    tg(telegram, clients).send(Message("❓ Deploy?", "Deploy to prod?", event="ask", ask=ASK, url=URL))
    assert telegram.problems == []
    rows = telegram.requests[0].json()["reply_markup"]["inline_keyboard"]
    assert rows == [
        [{"text": "Allow", "callback_data": "tok-allow"}],
        [{"text": "Deny", "callback_data": "tok-deny"}],
        [{"text": "Open", "url": URL}],
    ]


def test_a_refused_url_button_becomes_a_link_in_the_text(telegram: FakeTelegram, clients: HttpClients) -> None:
    local = "http://localhost:8080/report"
    receipt = tg(telegram, clients).send(Message("Report", "ready", event="end", url=local))
    assert receipt.provider_id
    first, second = telegram.requests
    assert "reply_markup" in first.json() and "reply_markup" not in second.json()
    assert local in visible_text(second.json()["text"])
    assert len(telegram.problems) == 1 and "button URL" in telegram.problems[0]


def test_html_telegram_cannot_parse_is_resent_once_as_plain_text(
    telegram: FakeTelegram, clients: HttpClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A renderer bug (an unclosed tag) stands in for whatever Telegram might still refuse.
    monkeypatch.setattr(Telegram, "inline", lambda self, value, dialect=None: f"<i>{value}")
    receipt = tg(telegram, clients).send(Message("Build done", "**all** green", event="end"))
    assert receipt.provider_id
    first, second = telegram.requests
    assert first.json()["parse_mode"] == "HTML" and "parse_mode" not in second.json()
    assert second.json()["text"] == "Build done\n\nall green"
    assert len(telegram.problems) == 1 and "HTML entities" in telegram.problems[0]


def test_a_long_message_is_cut_within_4096_utf16_units(telegram: FakeTelegram, clients: HttpClients) -> None:
    body = "😀 **bold** & <b> " * 900  # emoji count twice in UTF-16
    tg(telegram, clients).send(Message("Long", body, event="end", source="app"))
    assert telegram.problems == []
    text = telegram.requests[0].json()["text"]
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    shown = visible_text(text)
    assert "(cut:" in shown and shown.endswith("app")


# --- ntfy ------------------------------------------------------------------------------------


def test_ntfy_gets_markdown_priority_tags_and_a_click(ntfy: FakeNtfy, clients: HttpClients) -> None:
    nt(ntfy, clients).send(Message("❌ Failed", "Tests **failed**", event="error", url=URL, source="app · main"))
    assert ntfy.problems == []
    (request,) = ntfy.requests
    assert (request.header("markdown"), request.header("priority"), request.header("tags")) == ("yes", "4", "x")
    assert request.header("click") == URL
    assert request.header("actions") == f'view, Open, "{URL}"'
    assert request.body.decode() == "Tests **failed**\n\n*app · main*"
    (shown,) = ntfy.notifications()
    assert shown["click"] == URL and shown["content_type"] == "text/markdown"


@pytest.mark.parametrize(
    ("event", "priority", "expected"),
    [("start", None, "2"), ("end", None, "3"), ("end", "urgent", "5"), ("error", "low", "2"), (None, None, "3")],
)
def test_ntfy_priority_follows_the_level(
    ntfy: FakeNtfy, clients: HttpClients, event: str | None, priority: str | None, expected: str
) -> None:
    nt(ntfy, clients).send(Message("t", "c", event=event, priority=priority))
    assert ntfy.problems == [] and ntfy.requests[0].header("priority") == expected


def test_ntfy_priority_setting_is_the_normal_level_and_events_can_be_remapped(
    ntfy: FakeNtfy, clients: HttpClients
) -> None:
    channel = nt(ntfy, clients, NTFY_PRIORITY="4", MCP_PUSH_PRIORITY_END="urgent")
    channel.send(Message("plain", "c"))
    channel.send(Message("done", "c", event="end"))
    assert ntfy.problems == []
    assert [r.header("priority") for r in ntfy.requests] == ["4", "5"]


def test_ntfy_open_action_fits_with_configured_actions(ntfy: FakeNtfy, clients: HttpClients) -> None:
    configured = "view, CI, https://ci.example.com; view, Logs, https://logs.example.com; view, Docs, https://d.example"
    nt(ntfy, clients, NTFY_ACTIONS=configured).send(Message("t", "c", url=URL))
    assert ntfy.problems == []
    assert ntfy.requests[0].header("actions") == (
        f'view, Open, "{URL}"; view, CI, https://ci.example.com; view, Logs, https://logs.example.com'
    )


def test_ntfy_ask_buttons_come_first_and_the_open_action_takes_what_is_left(
    ntfy: FakeNtfy, clients: HttpClients
) -> None:
    channel = nt(ntfy, clients, NTFY_REPLY_TOPIC="replies-9d3e")
    channel.send(Message("❓ Deploy?", "Deploy?", event="ask", ask=ASK, url=URL))
    three = AskPrompt(("A", "B", "C"), ("t-a", "t-b", "t-c"))
    channel.send(Message("❓ Pick", "Pick one", event="ask", ask=three, url=URL))
    assert ntfy.problems == []
    first, second = (r.header("actions") for r in ntfy.requests)
    assert first.count("http, ") == 2 and first.endswith(f'view, Open, "{URL}"')
    assert second.count("http, ") == 3 and "Open" not in second  # ntfy shows 3: the answers win
    assert all(r.header("click") == URL for r in ntfy.requests)
    assert "authorization" not in first.lower() and NTFY_TOKEN not in first


def test_ntfy_body_is_cut_to_4096_bytes(ntfy: FakeNtfy, clients: HttpClients) -> None:
    nt(ntfy, clients).send(Message("Long", "构建 ✅ **ok** " * 800, event="end", format="text"))
    assert ntfy.problems == []
    body = ntfy.requests[0].body
    assert len(body) <= 4096 and "(cut:" in body.decode()
