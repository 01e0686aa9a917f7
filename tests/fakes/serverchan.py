"""ServerChan Turbo's /{SENDKEY}.send endpoint.

``desp`` is Markdown, where one newline joins two lines into one paragraph: the original
mcp-push doubles every newline, and the fake refuses a ``desp`` with a single one.
"""

from __future__ import annotations

import itertools
import re

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

KEY = "SCT215873TqWkLmZx8NvB3cD5eF7gH9iJ"
BAD_KEY = Reply(400, {"code": 40001, "message": "bad pushtoken", "data": None, "scode": 461})


class FakeServerChan(FakeProvider):
    replies = {
        "ok": Reply(
            200,
            {
                "code": 0,
                "message": "",
                "data": {"pushid": "148390211", "readkey": "SCTabc", "error": "SUCCESS", "errno": 0},
            },
        ),
        "permanent": BAD_KEY,
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(429, "Too Many Requests"),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != f"/{KEY}.send":
            raise Rejected(f"bad request line {request.method} {request.path}", BAD_KEY)
        form = request.form()
        if not form.get("title") or "\n" in form["title"]:
            raise Rejected(f"bad title {form.get('title')!r}", Reply(200, {"code": 20001, "message": "bad title"}))
        joined = _run_together(form.get("desp", ""))
        if joined:
            raise Rejected(f"lines would run together in desp: {joined!r}", self.replies["ok"])


_STRUCTURE = re.compile(r"^\s*([-*+>]|\d+[.)]|```|#)")


def _run_together(desp: str) -> str | None:
    """A line that Markdown would join to the next: neither a hard break ("  " or "\\" at its end)
    nor list, quote, heading or code structure on either line."""
    lines = desp.split("\n")
    fenced = False
    for line, following in itertools.pairwise(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.strip() or not following.strip():
            continue
        if line.endswith(("  ", "\\")) or _STRUCTURE.match(line) or _STRUCTURE.match(following):
            continue
        return line
    return None


CASE = ChannelCase(
    channel="serverchan",
    fake=FakeServerChan,
    env=lambda url: {"PUSH_KEY": KEY, "MCP_PUSH_ORIGIN_SERVERCHAN": url},
    secrets=(KEY,),
    permanent_reason="bad pushtoken",
    rate_wait=3600.0,
)
