"""The run view's "message as sent": each delivery's message drawn as its channel renders it (the
e-mail as a page in a sandboxed frame, Markdown rendered, Feishu's card with its colour band and
button, Slack, Discord, Telegram, ntfy), rebuilt from the ticket with the channel's own request and
nothing sent; secrets never shown; agent text escaped; and a real headless Chromium drawing it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from mcp_push.channels.base import Message
from mcp_push.dashboard import create_dashboard_app
from mcp_push.dashboard.markup import markdown, slack, telegram
from mcp_push.dashboard.message import as_sent, message_of
from mcp_push.storage.base import NewTicket, TicketRecord
from mcp_push.tasks.runtime import Runtime
from tests.dashboard import browser, png
from tests.dashboard.dom import Node, deliveries, parse
from tests.dashboard.sample import Writer

TG_TOKEN = "7310654321:AAHs3cr3tT0kenValue_xyz-42"
FSKEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SLACK_URL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/s3cr3tSlackPathValue9"
DISCORD_URL = "https://discord.com/api/webhooks/1234567890123456789/D1sc0rdS3cr3tT0kenValue"
NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
SECRETS = {
    "TG_BOT_TOKEN": TG_TOKEN,
    "FSKEY": FSKEY,
    "FSSECRET": "bX9kZ2VzZWNyZXQxMjM0",
    "SLACK_WEBHOOK_URL": SLACK_URL,
    "DISCORD_WEBHOOK_URL": DISCORD_URL,
    "NTFY_TOKEN": NTFY_TOKEN,
    "SMTP_PASSWORD": "mail-app-password-77",
    "DD_BOT_TOKEN": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4",
    "DD_BOT_SECRET": "SEC0123456789abcdef0123456789abcdef",
    "QYWX_AM": "ww5f3c1a2b4d6e8f0a,kT9vQ2xZr8LmN4pW6sY1,@all,1000002",
}
ENV = {
    **SECRETS,
    "TG_USER_ID": "42",
    "NTFY_TOPIC": "mcp-push-demo-5f2c",
    "SMTP_SERVER": "smtp.example.com:465",
    "SMTP_SSL": "true",
    "SMTP_EMAIL": "alerts@example.com",
}
CHANNELS = ("smtp", "feishu", "dingtalk", "ntfy", "slack", "discord", "telegram", "wecom_app", "bark")
RUN = "claude:deploy-web"
TITLE = "❌ Failed · claude:deploy-web"
CONTENT = (
    "The **deploy** of `web-7` failed at step 3.\n\n"
    "- migrations: ok\n- assets: **timed out** after 90 s\n\n"
    "```\nError: upstream 502 <html>\n```\n\n"
    "Raw <script>alert('x')</script> & <b>not bold</b> stays text."
)
URL = "https://ci.example.com/runs/1482"
SOURCE = "web · main · build-host · claude · deploy"
# Colours only the frames' own pixels carry: the e-mail's band (inline style, admitted by hash) and
# Feishu's red header (the page's CSS).
EMAIL_RED = (0xE5, 0x48, 0x4D)
FEISHU_RED = (0xF5, 0x4A, 0x45)
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard-messages.png"


@pytest.fixture
def runtime(make_settings, monkeypatch) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings(ENV))
    yield rt
    rt.close()


def write_run(runtime: Runtime, now: float, channels: tuple[str, ...] = CHANNELS, title: str = TITLE) -> TicketRecord:
    """One error ticket to every channel, with a URL and a source line; a mix of outcomes."""
    new = NewTicket(
        "tk-deploy-web-1",
        RUN,
        title,
        CONTENT,
        now - 60,
        channels,
        "error",
        {"artifact_url": URL},
        url=URL,
        source=SOURCE,
    )
    record, created = runtime.ledger.create_ticket(new)
    assert created
    w = Writer(runtime.ledger)
    for i, d in enumerate(record.deliveries):
        if i % 3 == 2:
            w.play(d.id, [(now - 59, 0.3, "permanent", "HTTP 400: bad request")], "failed")
        else:
            w.play(d.id, [(now - 59, 0.2 + i / 10, "delivered", None)], "delivered")
    return record


def sent_panels(page: Node) -> dict[str, Node]:
    return {channel: items[0].find("details", "sent") for channel, items in deliveries(page).items()}


def srcdoc(panel: Node) -> Node:
    frame = panel.find("iframe", "mail")
    return parse(frame.attrs["srcdoc"])


# --- what the panel shows ---------------------------------------------------------------------


def test_each_channel_shows_its_message_as_it_renders_it(runtime: Runtime):
    write_run(runtime, time.time())
    response = TestClient(create_dashboard_app(runtime)).get("/", params={"run": RUN})
    assert response.status_code == 200
    panels = sent_panels(parse(response.text))
    assert set(panels) == set(CHANNELS)
    assert all("open" in p.attrs for p in panels.values())  # the newest ticket's panels start open

    # e-mail: the HTML page itself, in a frame that may run nothing
    mail = panels["smtp"]
    assert mail.attrs["data-kind"] == "email"
    frame = mail.find("iframe", "mail")
    assert frame.attrs["sandbox"] == "" and "allow-scripts" not in response.text
    document = srcdoc(mail)
    assert document.find("h1").text == TITLE
    assert document.find("strong").text == "deploy" and document.find("code").text == "web-7"
    assert document.find("a").attrs["href"] == URL and SOURCE in document.text
    assert "<script>alert" in document.text and not document.find_all("script")  # shown as text, not run

    # Markdown (DingTalk): rendered, its escapes read back into the characters the agent typed
    md = panels["dingtalk"]
    assert md.attrs["data-kind"] == "markdown"
    assert md.find("strong").text == "deploy" and md.find("code").text == "web-7"
    assert [li.text for li in md.find("ul").find_all("li")] == ["migrations: ok", "assets: timed out after 90 s"]
    assert "Error: upstream 502 <html>" in md.find("pre").text
    assert "Raw <script>alert('x')</script> & <b>not bold</b> stays text." in md.text
    assert not md.find_all("script") and not md.find_all("b")

    # Feishu: the card's red header band with the title, the Markdown body, the Open button, the source
    card = panels["feishu"].find("div", "feishu")
    assert card.attrs["data-template"] == "red"
    assert card.find("div", "band").classes == {"band", "t-red"} and card.find("div", "band").text == TITLE
    assert card.find("strong").text == "deploy"
    button = card.find("div", "actions").find("a")
    assert button.attrs["href"] == URL and button.text == "Open"
    assert card.find("div", "foot").text == SOURCE

    # Slack: header, mrkdwn section (bold is *one* star there), context, a button
    sl = panels["slack"].find("div", "slack")
    assert sl.find("div", "e-title").text == TITLE
    assert sl.find("b").text == "deploy" and sl.find("code").text == "web-7"
    assert sl.find("div", "actions").find("a").attrs["href"] == URL

    # Discord: the embed's colour is the event's, the title links to the URL
    dc = panels["discord"].find("div", "discord")
    assert dc.attrs["data-colour"] == "#e5484d" and dc.find("div", "stripe").attrs["data-tone"] == "error"
    assert dc.find("div", "e-title").find("a").attrs["href"] == URL
    assert dc.find("strong").text == "deploy"

    # ntfy: its priority and the body; the token in its Authorization header is not shown
    nt = panels["ntfy"]
    assert nt.attrs["data-kind"] == "ntfy" and nt.find("span", "prio").text.startswith("priority ")
    assert nt.find("div", "m-title").text == TITLE

    # Telegram: the text as sent (HTML parse mode keeps its own tags only)
    tg = panels["telegram"]
    assert tg.attrs["data-kind"] == "telegram" and TITLE in tg.text

    # A channel whose request needs the network first (an access token) and one not configured here
    assert panels["wecom_app"].attrs["data-kind"] == "plain"
    assert "does not connect to providers" in panels["wecom_app"].find("summary").text
    assert panels["bark"].attrs["data-kind"] == "plain"
    assert "not configured here" in panels["bark"].find("summary").text
    assert "migrations: ok" in panels["bark"].text

    for secret in (*SECRETS.values(), quote(TG_TOKEN, safe=""), "s3cr3tSlackPathValue9", "D1sc0rdS3cr3tT0ken"):
        assert secret not in response.text
    assert "hooks.slack.com" not in response.text and "open.feishu.cn" not in response.text
    assert "api.telegram.org" not in response.text and "discord.com/api" not in response.text


def test_agent_markup_never_becomes_page_markup(runtime: Runtime):
    write_run(runtime, time.time())
    body = TestClient(create_dashboard_app(runtime)).get("/", params={"run": RUN}).text
    page = parse(body)
    assert len(page.find_all("script")) == 1  # the page's own, nonce'd
    assert "<script>alert" not in body and "<b>not bold</b>" not in body
    for panel in sent_panels(page).values():
        assert not [b for b in panel.find_all("b") if b.text == "not bold"]
        assert "<b>not bold</b>" in (srcdoc(panel) if panel.attrs["data-kind"] == "email" else panel).text
        for a in panel.find_all("a"):
            assert a.attrs["href"].startswith(("https://", "http://", "mailto:"))


def test_the_csp_admits_exactly_the_e_mails_styles(runtime: Runtime):
    write_run(runtime, time.time())
    response = TestClient(create_dashboard_app(runtime)).get("/", params={"run": RUN})
    csp = response.headers["content-security-policy"]
    style_src = next(part for part in csp.split(";") if part.strip().startswith("style-src")).split()
    nonce = parse(response.text).find("script").attrs["nonce"]
    hashes = [s for s in style_src if s.startswith("'sha256-")]
    assert style_src[:3] == ["style-src", f"'nonce-{nonce}'", "'unsafe-hashes'"] and hashes
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    # Without an e-mail on the page, no inline style is admitted at all.
    other = TestClient(create_dashboard_app(runtime)).get("/", params={"run": "no-such-run"})
    assert "unsafe-hashes" not in other.headers["content-security-policy"]


def test_nothing_is_sent_while_rendering(runtime: Runtime, monkeypatch):
    import httpx

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard tried to make an HTTP request")

    monkeypatch.setattr(httpx.Client, "request", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)
    write_run(runtime, time.time())
    response = TestClient(create_dashboard_app(runtime)).get("/", params={"run": RUN})
    assert response.status_code == 200 and len(sent_panels(parse(response.text))) == len(CHANNELS)


def test_the_message_is_rebuilt_from_the_tickets_rendering_fields(runtime: Runtime):
    record = write_run(runtime, time.time(), ("feishu",))
    stored = runtime.ledger.run_tickets(RUN)[0]
    message = message_of(stored)
    assert (message.title, message.content, message.event, message.ticket) == (TITLE, CONTENT, "error", record.ticket)
    assert (message.url, message.source, message.format) == (URL, SOURCE, "markdown")
    old = TicketRecord("tk-old", "r", "t", "c", 1.0)  # a ticket from before those columns: defaults
    assert (message_of(old).format, message_of(old).url, message_of(old).priority) == ("markdown", None, None)


def test_text_format_is_shown_literally():
    message = Message("t", "**not bold** `x`", "r", "tk", "end", format="text")
    sent = as_sent("dingtalk", message, ENV)
    html = markdown(sent.body)
    assert "<strong>" not in html and "**not bold** `x`" in parse(html).text


def test_unused_panels_stay_out_of_older_tickets(runtime: Runtime):
    """Only the newest ticket's panels start open; older ones are there, folded."""
    now = time.time()
    write_run(runtime, now - 600, ("feishu",))
    later = NewTicket("tk-deploy-web-2", RUN, "✅ Finished · claude:deploy-web", "fixed", now - 5, ("feishu",), "end")
    runtime.ledger.create_ticket(later)
    page = parse(TestClient(create_dashboard_app(runtime)).get("/", params={"run": RUN}).text)
    panels = page.find("section", "run").find_all("details", "sent")
    assert [("open" in p.attrs) for p in panels] == [True, False]
    assert panels[0].find("div", "feishu").attrs["data-template"] == "green"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold* _it_ ~gone~ `co*de*`", "<b>bold</b> <i>it</i> <s>gone</s> <code>co*de*</code>"),
        ("a \u200b*star* &lt;b&gt; &amp;", "a *star* &lt;b&gt; &amp;"),
        ("<https://x.example/?a=1&amp;b=2|open &lt;it&gt;>", "https://x.example/?a=1&amp;b=2"),
        ("<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"),
    ],
)
def test_slack_mrkdwn_reader(text: str, expected: str):
    assert expected in slack(text)
    assert "<script" not in slack(text) and "javascript:" not in slack(text).replace("&lt;javascript:", "")


def test_telegram_html_keeps_only_telegrams_tags():
    html = telegram('<b>x</b> <i>y</i> <a href="javascript:alert(1)">z</a> <img src=x onerror=1> &lt;k&gt; <code>c')
    assert html.startswith("<b>x</b> <i>y</i> ")
    assert "javascript:" not in html and '<a class="badlink">z</a>' in html
    assert "&lt;img src=x onerror=1&gt;" in html and "&lt;k&gt;" in html and html.endswith("<code>c</code>")


# --- a real browser ---------------------------------------------------------------------------


def test_a_real_browser_draws_the_messages(runtime: Runtime, tmp_path: Path):
    """Chromium shows the panels: the e-mail frame paints its own page (its band's colour is on screen,
    so the CSP let exactly its styles through), Markdown rendered, Feishu's band and button.

    With MCP_PUSH_DOCS_SCREENSHOT=1 it also writes docs/dashboard-messages.png (a taller shot)."""
    binary = browser.require_chromium()
    shown = ("smtp", "feishu", "dingtalk", "slack", "telegram", "ntfy")
    title = TITLE.removeprefix("❌ ")  # headless Chromium here may have no emoji font: no boxes in the picture
    write_run(runtime, time.time(), shown, title)
    profile = tmp_path / "chromium-profile"
    target = f"/?run={quote(RUN, safe='')}"
    docs = bool(os.environ.get("MCP_PUSH_DOCS_SCREENSHOT"))
    with browser.serve(create_dashboard_app(runtime)) as url:
        dom = browser.dump_dom(binary, url + target, profile)
        shot = browser.screenshot(binary, url + target, tmp_path / "dashboard-messages.png", profile, (1400, 1700))
        if docs:  # tall enough to show every panel
            browser.screenshot(binary, url + target, DOCS_SHOT, profile, (1400, 2900))

    page = parse(dom)
    assert page.find("html").attrs.get("data-js") == "ready"  # the page's script ran without an error
    panels = sent_panels(page)
    assert set(panels) == set(shown) and all("open" in p.attrs for p in panels.values())
    assert srcdoc(panels["smtp"]).find("h1").text == title
    assert panels["dingtalk"].find("strong").text == "deploy" and panels["dingtalk"].find("code").text == "web-7"
    feishu = panels["feishu"].find("div", "feishu")
    assert feishu.find("div", "band").text == title and feishu.find("div", "actions").find("a").text == "Open"
    assert TG_TOKEN not in dom

    assert png.count_colour(shot, EMAIL_RED) > 100, "the e-mail frame did not paint its coloured title band"
    assert png.count_colour(shot, FEISHU_RED) > 2000, "the Feishu card's red header band is not on screen"
