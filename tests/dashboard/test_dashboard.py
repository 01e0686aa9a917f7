"""The dashboard as a person meets it: runs and statuses, delivery timelines with the providers'
reasons, queue and workers, the 24-hour chart; GET only, nothing secret, agent text escaped; and the
same page rendered by a real headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from mcp_push.dashboard import create_dashboard_app
from mcp_push.dashboard.fmt import ago, duration
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.storage.base import Hold
from mcp_push.tasks.runtime import Runtime
from tests.dashboard import browser, sample
from tests.dashboard.dom import Node, deliveries, outcomes, parse, run_statuses, selected_run, tile
from tests.dashboard.sample import Sample, Writer, fill
from tests.helpers import wait_until

SECRET = "7310654321:AAHs3cr3tT0kenValue_xyz-42"
HTTP_TOKEN = "dash-bearer-secret-9c1f77"
ENV = {
    "TG_BOT_TOKEN": SECRET,
    "TG_USER_ID": "42",
    "NTFY_TOPIC": "mcp-push-demo",
    "MCP_PUSH_HTTP_TOKEN": HTTP_TOKEN,
}
LEAKY_RUN = "leaky-channel"
METHODS = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def runtime(make_settings, monkeypatch) -> Iterator[Runtime]:
    monkeypatch.setenv("TG_BOT_TOKEN", SECRET)
    monkeypatch.setenv("MCP_PUSH_HTTP_TOKEN", HTTP_TOKEN)
    rt = Runtime.open(make_settings(ENV))
    yield rt
    rt.close()


@pytest.fixture
def data(runtime: Runtime) -> Sample:
    return fill(runtime.ledger, time.time(), runtime.enqueue, history=12)


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_dashboard_app(runtime))


def get_page(client: TestClient, run: str | None = None, expect: int = 200) -> Node:
    response = client.get("/", params={"run": run} if run else None)
    assert response.status_code == expect, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


# --- what the page shows ------------------------------------------------------------------------


def test_recent_runs_show_each_overall_status(client: TestClient, data: Sample):
    statuses = run_statuses(get_page(client))
    for run_id, status in data.by_status.items():
        assert statuses.get(run_id) == status, (run_id, statuses.get(run_id))
    assert next(iter(statuses)) == data.queued  # most recent activity first


def test_the_most_recent_run_is_open_by_default(client: TestClient, data: Sample):
    panel = selected_run(get_page(client))
    assert panel.attrs["data-run"] == data.queued
    assert "waiting for a worker" in panel.text


def test_partial_run_shows_attempts_waits_and_the_provider_reason(client: TestClient, data: Sample):
    page = get_page(client, data.partial)
    panel = selected_run(page)
    assert panel.attrs["data-run"] == data.partial
    assert panel.find(cls="pill").attrs["data-status"] == "partial_success"
    channels = deliveries(page)
    telegram, slack = channels["telegram"][0], channels["slack"][0]
    assert telegram.attrs["data-status"] == "delivered"
    assert outcomes(telegram) == ["transient", "transient", "delivered"]
    assert "delivered in 3.6 s" in telegram.text
    assert "1.3 s" in telegram.text  # the wait between the second and third attempt
    assert f"#1–2 transient {sample.TELEGRAM_502}" in telegram.text
    assert slack.attrs["data-status"] == "failed"
    assert outcomes(slack) == ["permanent"]
    assert sample.SLACK_REVOKED in slack.text
    # The earlier, recorded-only ticket of the run says why it was not pushed.
    assert sample.recorded_reason("update") in panel.text


def test_error_run_shows_every_channels_reason(client: TestClient, data: Sample):
    page = get_page(client, data.error)
    assert selected_run(page).find(cls="pill").attrs["data-status"] == "error"
    channels = deliveries(page)
    assert {c: d[0].attrs["data-status"] for c, d in channels.items()} == {"dingtalk": "failed", "ntfy": "failed"}
    assert sample.DINGTALK_SIGN in channels["dingtalk"][0].text
    assert sample.NTFY_FORBIDDEN in channels["ntfy"][0].text


def test_retrying_delivery_shows_the_long_wait_and_the_next_try(client: TestClient, data: Sample):
    page = get_page(client, data.retrying)
    channels = deliveries(page)
    telegram = channels["telegram"][0]
    assert telegram.attrs["data-status"] == "retrying"
    assert outcomes(telegram) == ["transient", "transient", "transient", "rate_limited"]
    assert "wait 1 min" in telegram.text  # the deferred round, between attempts 3 and 4
    assert "next try" in telegram.text
    assert sample.TIMEOUT in telegram.text and sample.RATE_LIMITED in telegram.text
    assert channels["bark"][0].attrs["data-status"] == "delivered"


def test_a_long_retry_story_is_folded_and_ends_with_the_final_reason(client: TestClient, runtime: Runtime):
    now = time.time()
    w = Writer(runtime.ledger)
    rec = w.ticket("flaky", "❌ Failed · flaky", now - 5 * 3600, ["gotify"])
    tries = [(now - 5 * 3600 + i * 1800, 0.5, "transient", f"HTTP 50{i % 2 + 2}") for i in range(10)]
    w.play(rec.deliveries[0].id, tries, "retrying", at=now + 600)
    # The worker gives up past the maximum age: a claimed delivery finished as failed with a summary.
    runtime.ledger.claim(rec.deliveries[0].id, sample.OWNER, 60, now + 600)
    final = "gave up after 10 attempts over 24h; last error: HTTP 503"
    runtime.ledger.finish(rec.deliveries[0].id, sample.OWNER, "failed", final, now + 601)
    gotify = deliveries(get_page(client, "flaky"))["gotify"][0]
    assert gotify.attrs["data-status"] == "failed"
    assert len(outcomes(gotify)) == 6 and "… 4 more attempts …" in gotify.text
    assert "wait 30 min" in gotify.text
    assert f"final {final}" in gotify.text
    assert "#10 transient HTTP 503" in gotify.text and "earlier errors not shown" in gotify.text


def test_the_attention_rules_show_route_held_until_and_what_became_of_each_delivery(
    client: TestClient, runtime: Runtime
):
    now = time.time()
    night = Hold("quiet", now + 3600, "held for quiet hours until 08:00 Europe/Berlin (MCP_PUSH_QUIET=22:00-08:00)")
    new = NewTicket("tk-night", "night", "Build finished", "green", now, ("ntfy", "telegram"), "end",
                    route="MCP_PUSH_ROUTE_END", holds={"ntfy": night, "telegram": night})  # fmt: skip
    record, _ = runtime.ledger.create_ticket(new)
    telegram = next(d.id for d in record.deliveries if d.channel == "telegram")
    runtime.ledger.drop_held([telegram], "dropped: you were back at the keyboard at 23:10:04 (UserPromptSubmit)", now)
    page = get_page(client, "night")
    assert "Route: MCP_PUSH_ROUTE_END" in selected_run(page).text
    shown = deliveries(page)
    ntfy, dropped = shown["ntfy"][0], shown["telegram"][0]
    assert ntfy.attrs["data-status"] == "held" and ntfy.find(cls="rule").attrs["data-hold"] == "quiet"
    assert "held for quiet hours until 08:00" in ntfy.text and "until 20" in ntfy.text  # held_until, ISO
    assert dropped.attrs["data-status"] == "dropped" and "you were back at the keyboard" in dropped.text


def test_in_flight_and_recorded_runs(client: TestClient, data: Sample):
    sending = deliveries(get_page(client, data.sending))["telegram"][0]
    assert sending.attrs["data-status"] == "in_flight"
    assert "sending now" in sending.text
    recorded = selected_run(get_page(client, data.recorded))
    assert recorded.find(cls="pill").attrs["data-status"] == "recorded"
    assert sample.recorded_reason("start") in recorded.text
    assert not recorded.find_all("li", "delivery")


def test_queue_depth_and_worker_heartbeats(client: TestClient, data: Sample, runtime: Runtime):
    page = get_page(client)
    queued, scheduled = runtime.huey.pending_count(), runtime.huey.scheduled_count()
    assert queued + scheduled == 3  # two fresh deliveries and one retry task
    assert tile(page, "queue").startswith(f"Queue {queued + scheduled} {queued} queued · {scheduled} scheduled")
    assert f"{runtime.ledger.unfinished_count()} open" in tile(page, "queue")
    workers = tile(page, "workers")
    assert "1 alive" in workers and "1 gone" in workers and sample.OWNER in workers
    assert sample.GONE_WORKER not in workers  # named only in the tooltip


def test_no_live_worker_is_flagged(client: TestClient, runtime: Runtime):
    writer = Writer(runtime.ledger)
    writer.ticket("stuck", "nobody delivers this", time.time(), ["telegram"])
    page = get_page(client)
    workers = page.find("div", "tile", data_tile="workers")
    assert "none alive" in workers.text and "mcp-push worker" in workers.text
    assert "tone-red" in workers.classes  # deliveries wait and nobody works


def test_chart_counts_the_last_24_hours_per_channel(client: TestClient, runtime: Runtime):
    now = time.time()
    w = Writer(runtime.ledger)
    old = w.ticket("old", "a day ago", now - 25 * 3600, ["telegram"])
    w.play(old.deliveries[0].id, [(now - 25 * 3600, 0.2, "delivered", None)], "delivered")
    rec = w.ticket("chart", "t", now - 3 * 3600, ["telegram", "slack"])
    t0 = now - 3 * 3600
    w.play(
        rec.deliveries[0].id,
        [
            (t0, 0.5, "transient", "HTTP 503"),
            (t0 + 1, 0.5, "rate_limited", "HTTP 429"),
            (t0 + 2, 0.3, "delivered", None),
        ],
        "delivered",
    )
    w.play(rec.deliveries[1].id, [(t0, 0.2, "permanent", "invalid_auth")], "failed")
    rec = w.ticket("chart-2", "t", now - 60, ["telegram"])
    w.play(rec.deliveries[0].id, [(now - 60, 0.2, "delivered", None)], "delivered")

    page = get_page(client)
    chart = page.find("svg", "chart")
    labels = [t.text for t in chart.find_all("text", "label")]
    assert labels == ["telegram", "slack"]  # busiest first
    totals = [t.text for t in chart.find_all("text", "totals")]
    assert totals == ["2 ✓ 2 ↻ 0 ✗", "0 ✓ 0 ↻ 1 ✗"]  # the attempt 25 h ago is out of the window
    assert len(chart.find_all("rect", "hit")) == 2 * 24
    assert tile(page, "delivered").startswith("Delivered · 24 h 2")
    assert tile(page, "retried").startswith("Retried · 24 h 2")
    assert tile(page, "failed").startswith("Failed · 24 h 1")


def test_empty_ledger_says_so(client: TestClient):
    page = get_page(client)
    assert "No notifications yet" in page.text
    assert "No delivery attempts in the last 24 hours" in page.text
    assert "none alive" in tile(page, "workers")


def test_unknown_run_is_a_404_that_still_shows_the_overview(client: TestClient, data: Sample):
    page = get_page(client, "no-such-run", expect=404)
    assert "No run no-such-run in the ledger" in page.text
    assert data.partial in run_statuses(page)


# --- read-only, secret-free, escaped ---------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_only_get_works(client: TestClient, data: Sample, method: str):
    for path in ("/", f"/?run={data.partial}"):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert "GET" in response.headers["allow"]
    assert client.head("/").status_code == 200
    assert client.get("/runs").status_code == 404


def test_the_page_cannot_submit_anything(client: TestClient, data: Sample):
    response = client.get("/")
    assert "<form" not in response.text.lower()
    csp = response.headers["content-security-policy"]
    assert "form-action 'none'" in csp and "default-src 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    page = parse(response.text)
    assert all(a.attrs["href"].startswith("/?run=") for a in page.find_all("a", "rid"))
    assert [b.attrs.get("type") for b in page.find_all("button")] == ["button"]  # the pause toggle, client-side


def test_no_secret_appears_on_any_page(client: TestClient, data: Sample, runtime: Runtime):
    assert os.environ["TG_BOT_TOKEN"] == SECRET
    # A channel that forgot to redact. (The user's own title and run id are shown as written, never
    # masked: tests/channels/test_redaction.py.)
    w = Writer(runtime.ledger)
    now = time.time()
    rec = w.ticket(LEAKY_RUN, "deploy done", now - 30, ["telegram"])
    leak = f"POST https://api.telegram.org/bot{SECRET}/sendMessage: connection reset ({quote(SECRET, safe='')})"
    w.play(rec.deliveries[0].id, [(now - 29, 0.4, "permanent", leak)], "failed")

    bodies = [client.get("/").text]
    for run_id in run_statuses(parse(bodies[0])):
        bodies.append(client.get("/", params={"run": run_id}).text)
    bodies.append(client.get("/nowhere").text)
    bodies.append(client.post("/").text)
    leaky = bodies[list(run_statuses(parse(bodies[0]))).index(LEAKY_RUN) + 1]
    assert "api.telegram.org/bot***/sendMessage: connection reset" in parse(leaky).text  # still useful
    for body in bodies:
        for secret in (SECRET, quote(SECRET, safe=""), HTTP_TOKEN, "AAHs3cr3tT0ken"):
            assert secret not in body


def test_agent_text_is_escaped(client: TestClient, runtime: Runtime):
    run_id = '<img src=x onerror="alert(1)">&run'
    title = "<script>alert('title')</script> & done"
    w = Writer(runtime.ledger)
    now = time.time()
    rec = w.ticket(run_id, title, now - 5, ["webhook"])
    w.play(rec.deliveries[0].id, [(now - 4, 0.1, "permanent", '<b>HTTP 400</b> "bad" & <i>worse</i>')], "failed")
    body = client.get("/").text
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>HTTP 400" not in body
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; &amp; done" in body
    page = parse(body)
    assert run_statuses(page)[run_id] == "error"
    link = page.find("a", "rid").attrs["href"]
    assert link == "/?run=" + quote(run_id, safe="")
    followed = parse(client.get(link).text)
    assert selected_run(followed).attrs["data-run"] == run_id
    assert '<b>HTTP 400</b> "bad" & <i>worse</i>' in selected_run(followed).text


def test_a_failing_ledger_gives_503_without_details(runtime: Runtime):
    class Broken(SqliteLedger):
        def recent_run_ids(self, limit: int) -> list[str]:
            raise RuntimeError(f"could not connect to postgresql://app:{SECRET}@db/ledger")

    broken = Broken(runtime.settings.ledger_path)
    try:
        response = TestClient(create_dashboard_app((broken, runtime.huey))).get("/")
    finally:
        broken.close()
    assert response.status_code == 503
    assert "could not be read" in response.text and SECRET not in response.text


# --- wiring ------------------------------------------------------------------------------------


@pytest.mark.parametrize("base_path", ["/dashboard", ""])
def test_links_work_under_a_base_path(runtime: Runtime, data: Sample, base_path: str):
    """Mounted by the HTTP transport: an explicit base_path, or the ASGI root_path when none is given."""
    outer = Starlette(routes=[Mount("/dashboard", app=create_dashboard_app(runtime, base_path=base_path))])
    client = TestClient(outer)
    page = parse(client.get("/dashboard/").text)
    links = [a.attrs["href"] for a in page.find_all("a", "rid")]
    assert links and all(link.startswith("/dashboard/?run=") for link in links)
    assert page.find("div", "brand").find("a").attrs["href"] == "/dashboard/"
    followed = parse(client.get(f"/dashboard/?run={quote(data.error, safe='')}").text)
    assert selected_run(followed).attrs["data-run"] == data.error
    assert client.post("/dashboard/").status_code == 405


def test_takes_a_ledger_and_huey_pair_or_a_bare_ledger(runtime: Runtime, data: Sample):
    pair = parse(TestClient(create_dashboard_app((runtime.ledger, runtime.huey))).get("/").text)
    assert tile(pair, "queue").startswith("Queue 3")
    bare = parse(TestClient(create_dashboard_app(runtime.ledger)).get("/").text)
    assert "depth unavailable" in tile(bare, "queue")
    assert run_statuses(bare) == run_statuses(pair)
    with pytest.raises(TypeError):
        create_dashboard_app(object())


def test_the_page_refreshes_itself_without_breaking_a_dom_dump(client: TestClient, data: Sample):
    first, second = client.get("/"), client.get("/")
    page = parse(first.text)
    script = page.find("script")
    nonce = script.attrs["nonce"]
    assert f"'nonce-{nonce}'" in first.headers["content-security-policy"]
    assert nonce != parse(second.text).find("script").attrs["nonce"]
    assert page.find("body").attrs["data-refresh"] == "10"
    assert "setTimeout(refresh" in script.children[0]
    # The no-JavaScript fallback reloads slowly, and only when scripts are off.
    fallback = page.find("noscript").find("meta")
    assert fallback.attrs["http-equiv"] == "refresh" and int(fallback.attrs["content"]) >= 30
    assert first.text.count("http-equiv") == 1
    assert page.find("main").attrs["id"] == "live"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.42, "0.4 s"),
        (12.4, "12 s"),
        (61, "1 min 01 s"),
        (120, "2 min"),
        (3 * 3600 + 600, "3 h 10 min"),
        (90000, "1 d 1 h"),
    ],
)
def test_durations_read_at_a_glance(seconds: float, text: str):
    assert duration(seconds) == text


def test_ages():
    assert ago(100, 102) == "just now"
    assert ago(100, 400) == "5 min ago"
    assert ago(500, 100) == "in 6 min 40 s"


def _start_dashboard(make_settings) -> tuple[subprocess.Popen[bytes], int]:
    """`mcp-push dashboard` as a process, on a free port, over a ledger holding the sample runs."""
    settings = make_settings()
    rt = Runtime.open(settings)
    try:
        fill(rt.ledger, time.time(), history=3)
    finally:
        rt.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MCP_PUSH_HOME": str(settings.home), "MCP_PUSH_CONFIG": str(settings.config_file)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_push", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, port


@pytest.mark.slow
def test_cli_serves_the_dashboard(make_settings, tmp_path: Path):
    proc, port = _start_dashboard(make_settings)
    try:

        def answer() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                return None

        response = wait_until(answer, timeout=30, what="mcp-push dashboard to answer")
        assert response.status_code == 200
        assert run_statuses(parse(response.text))["nightly-build-1482"] == "partial_success"
        assert httpx.post(f"http://127.0.0.1:{port}/", timeout=2).status_code == 405
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in err.decode()


def _raw_get(port: int, headers: dict[str, str]) -> tuple[int, str]:
    """One HTTP/1.1 GET written by hand, so that the Host header is exactly what a rebinding page sends."""
    lines = ["GET / HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")


@pytest.mark.slow
def test_cli_dashboard_checks_host_and_origin_against_dns_rebinding(make_settings):
    proc, port = _start_dashboard(make_settings)
    try:

        def answer() -> tuple[int, str] | None:
            try:
                return _raw_get(port, {"Host": f"127.0.0.1:{port}"})
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                return None

        status, page_text = wait_until(answer, timeout=30, what="mcp-push dashboard to answer")
        assert status == 200 and "nightly-build-1482" in page_text
        for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}"):
            status, body = _raw_get(port, {"Host": host})
            assert status == 421, host
            assert "nightly-build-1482" not in body and "<html" not in body.lower()
        status, body = _raw_get(port, {"Host": f"localhost:{port}", "Origin": "http://evil.example"})
        assert status == 403 and "nightly-build-1482" not in body
        assert _raw_get(port, {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})[0] == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


# --- a real browser ----------------------------------------------------------------------------


def test_a_real_browser_shows_runs_statuses_and_reasons(runtime: Runtime, tmp_path: Path):
    binary = browser.require_chromium()
    data = fill(runtime.ledger, time.time(), runtime.enqueue)
    profile = tmp_path / "chromium-profile"
    with browser.serve(create_dashboard_app(runtime)) as url:
        dom = browser.dump_dom(binary, f"{url}/?run={quote(data.partial, safe='')}", profile)
        error_dom = browser.dump_dom(binary, f"{url}/?run={quote(data.error, safe='')}", profile)
        shot = browser.screenshot(
            binary, f"{url}/?run={quote(data.partial, safe='')}", tmp_path / "dashboard.png", profile
        )

    page = parse(dom)
    assert page.find("html").attrs.get("data-js") == "ready"  # the refresh script ran without an error
    statuses = run_statuses(page)
    for run_id, status in data.by_status.items():
        assert statuses[run_id] == status
    pills = {p.attrs["data-status"] for p in page.find_all(cls="pill")}
    assert {"success", "partial_success", "error", "delivering", "recorded", "queued"} <= pills
    channels = deliveries(page)
    assert outcomes(channels["telegram"][0]) == ["transient", "transient", "delivered"]
    assert sample.SLACK_REVOKED in channels["slack"][0].text
    assert sample.TELEGRAM_502 in channels["telegram"][0].text
    errors = deliveries(parse(error_dom))
    assert sample.DINGTALK_SIGN in errors["dingtalk"][0].text
    assert sample.NTFY_FORBIDDEN in errors["ntfy"][0].text
    assert SECRET not in dom and SECRET not in error_dom

    data_png = shot.read_bytes()
    assert data_png.startswith(b"\x89PNG\r\n\x1a\n") and len(data_png) > 20_000


def test_a_real_browser_refreshes_the_page_in_place(runtime: Runtime, tmp_path: Path):
    binary = browser.require_chromium()
    data = fill(runtime.ledger, time.time(), runtime.enqueue, history=3)
    with browser.serve(create_dashboard_app(runtime, refresh_seconds=1)) as url:
        dom = browser.dump_dom(binary, f"{url}/", tmp_path / "profile", virtual_ms=4000)
    page = parse(dom)
    assert page.find(id="live-text").text.startswith("updated ")  # fetched and swapped, not reloaded
    assert page.find(id="live-state").attrs["class"] == "live ok"
    assert run_statuses(page)[data.partial] == "partial_success"
