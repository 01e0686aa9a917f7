"""Golden requests: for every channel, a fixed set of messages → the exact request it sends.

Each message is sent to the channel's fake provider (tests/fakes/*), which records the request
as it arrived on the wire; the record (method, path, query, the headers a provider reads, the
body decoded) is kept as ``tests/golden/<channel>/<case>.json``, and the e-mail as
``tests/golden/smtp/<case>.txt``. Time is frozen so signatures repeat. ``test_golden.py``
compares; ``python -m tests.golden --update`` rewrites the files and prints the diff.

A channel not yet rendered by this suite is listed in ``PENDING``: deleting its name there
covers it (its fake needs nothing else).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import tests.fakes
from mcp_push.channels import HttpClients, all_channels
from mcp_push.channels.base import MemoryState, Message
from tests.fakes.base import ChannelCase, FakeProvider, Recorded

ROOT = Path(__file__).resolve().parent
FROZEN_TIME = 1_795_000_000.0  # 2026-11-19: signatures and timestamps repeat run after run
PENDING: set[str] = set()  # channels not rendered yet; a name here leaves that channel uncovered
IGNORED_HEADERS = {"host", "content-length", "user-agent", "accept", "accept-encoding", "connection"}

RUN_ID = "run-20261202-031400-a1b2c3"
SOURCE = "mcp-push · feature/render · build-host · claude-code · s-42"
SPECIALS = "_*[]()~>#+-=|{}.!"
LONG = "".join(f"Step {i}: compiled 构建 module_{i} ✅ " for i in range(400))[:5000]

CASES: dict[str, Message] = {
    "specials": Message(
        f"Specials {SPECIALS} <&>",
        f"Markdown around the specials: **bold {SPECIALS}** and `code {SPECIALS}`\n"
        f"Bare: {SPECIALS} <&> &amp; <b>not html</b> @everyone <@123>\n"
        "# not a heading?\n1. a list after all",
        RUN_ID,
        "tk-golden-1",
        "end",
        source=SOURCE,
    ),
    "specials_text": Message(
        f"Specials {SPECIALS} <&>",
        f"Literal: {SPECIALS} <&> &amp; **not bold** `not code`\n# not a heading\n1. not a list\n    not code",
        RUN_ID,
        "tk-golden-2",
        "end",
        format="text",
    ),
    "cjk_emoji": Message(
        "构建完成 ✅ 🚀",
        "所有测试通过 🎉\n第二行：部署到生产环境 👨‍👩‍👧‍👦 🇨🇳 👍🏽\n**粗体** 和 *斜体*",
        RUN_ID,
        "tk-golden-3",
        "end",
        source="项目 · 主分支 · 构建机 · claude-code · 会话",
    ),
    "long": Message("Long progress report", LONG, RUN_ID, "tk-golden-4", "update"),
    "structure": Message(
        "Release notes",
        "## Changes\n\n"
        "- parser: handles `~~~` fences\n"
        "  - nested **bold** item with [a link](https://example.com/a_(b)?q=1&r=2)\n"
        "    1. deeper, numbered\n"
        "- second <https://example.com/auto>\n\n"
        "```python\ndef f(x):\n    return x < 1 and x > -1  # <&>\n```\n\n"
        "> quoted *line*\n> second line\n\n"
        "---\n\n"
        "![diagram](https://example.com/d.png) and [bad](javascript:alert(1))",
        RUN_ID,
        "tk-golden-5",
        "end",
    ),
    "error_artifact": Message(
        f"❌ Failed · {RUN_ID}",
        f"Tests failed on `main`: 3 of 120.\n\nrun: {RUN_ID}",
        RUN_ID,
        "tk-golden-6",
        "error",
        url="https://ci.example.com/artifacts/42/report.html?tab=failures&x=1",
        source=SOURCE,
    ),
}


def fake_cases() -> dict[str, ChannelCase]:
    """Every fake's ChannelCase by channel id."""
    found = {}
    for info in pkgutil.iter_modules(tests.fakes.__path__):
        case = getattr(importlib.import_module(f"tests.fakes.{info.name}"), "CASE", None)
        if isinstance(case, ChannelCase):
            found[case.channel] = case
    return dict(sorted(found.items()))


def channels() -> list[str]:
    """The channels with golden files: every fake's channel but the pending ones, plus e-mail."""
    return [*(c for c in fake_cases() if c not in PENDING), "smtp"]


def path_for(channel: str, case: str) -> Path:
    return ROOT / channel / f"{case}.{'txt' if channel == 'smtp' else 'json'}"


@contextlib.contextmanager
def frozen_time() -> Iterator[None]:
    with mock.patch("time.time", return_value=FROZEN_TIME):
        yield


def _body(record: Recorded) -> dict[str, Any]:
    kind = record.headers.get("content-type", "").split(";")[0].strip().lower()
    if not record.body:
        return {}
    if kind == "application/json" or record.body[:1] in b"{[":
        with contextlib.suppress(ValueError):
            return {"json": record.json()}
    if kind == "application/x-www-form-urlencoded":
        return {"form": record.form()}
    return {"body": record.body.decode("utf-8", "replace")}


def describe(record: Recorded) -> dict[str, Any]:
    """A recorded request as kept in a golden file."""
    headers = {k: record.header(k) for k in sorted(record.headers) if k not in IGNORED_HEADERS}
    return {"method": record.method, "path": record.path, "query": record.query, "headers": headers, **_body(record)}


@functools.cache
def _clients() -> HttpClients:
    """One pool for every capture: a new one loads the CA bundle again (~0.1 s each)."""
    return HttpClients(5)


def capture(channel: str, message: Message) -> tuple[str, list[str]]:
    """(the golden text, the fake's problems) for ``message`` sent by ``channel``."""
    if channel == "smtp":
        return capture_mail(message), []
    case = fake_cases()[channel]
    fake: FakeProvider = case.fake().start()
    clients = _clients()
    try:
        env = case.env(fake.url)
        fake.configure(env)
        MemoryState.forget()  # a cached token from another case would change which requests are made
        cls = all_channels()[channel]
        origin = env.get(f"MCP_PUSH_ORIGIN_{channel.upper()}")
        with frozen_time():
            cls(env, clients=clients, origin=origin).send(message)
        records = [describe(r) for r in fake.requests]
        return json.dumps(records, ensure_ascii=False, indent=2) + "\n", list(fake.problems)
    finally:
        fake.stop()


def capture_mail(message: Message) -> str:
    """The e-mail: its headers as sent (the random Message-ID made fixed), then each MIME part's
    headers and its content decoded from its transfer encoding, so that a change reads as one."""
    from mcp_push.channels.smtp import Smtp

    env = {"SMTP_SERVER": "mail.example.com:465", "SMTP_SSL": "true", "SMTP_EMAIL": "alerts@example.com"}
    mail = Smtp({**env, "SMTP_PASSWORD": "x", "SMTP_NAME": "mcp-push"}, clients=HttpClients(1)).build(message)
    head = mail.as_string().split("\n\n", 1)[0]
    head = re.sub(r"(?m)^Message-ID: .*$", "Message-ID: <golden@example.com>", head)
    head = re.sub(r'boundary="[^"]*"', 'boundary="BOUNDARY"', head)
    parts = [head]
    for part in mail.iter_parts():
        headers = "\n".join(f"{name}: {value}" for name, value in part.items())
        parts.append(f"--BOUNDARY\n{headers}\n\n{part.get_content()}")
    return "\n\n".join(parts).rstrip("\n") + "\n"


def diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}"))


def update() -> list[str]:
    """Rewrite every golden file; the diffs of those that changed."""
    changes = []
    for channel in channels():
        for case, message in CASES.items():
            path = path_for(channel, case)
            new, problems = capture(channel, message)
            if problems:
                raise SystemExit(f"{channel}/{case}: the fake refused the request: {problems}")
            old = path.read_text() if path.exists() else ""
            if new != old:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(new)
                changes.append(diff(old, new, str(path.relative_to(ROOT.parent.parent))))
    return changes
