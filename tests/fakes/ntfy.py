"""ntfy (ntfy.sh or self-hosted), with its JSON error bodies, its message cache and a phone.

ntfy reads RFC 2047 encoded headers, and a header it cannot read as text is refused; the fake
checks Title and Actions as ntfy decodes them (Actions against the configured NTFY_ACTIONS for a
plain notification). An ``Actions`` header is parsed as ntfy documents it (the simple format,
``action, label, url, key=value, ...`` with actions separated by ``;`` and values quoted with
``"`` or ``'``, or a JSON array): at most 3 actions, each ``view``, ``http``, ``broadcast`` or
``copy`` with a label, ``view``/``http`` with a URL, only documented keys. ``Priority`` must be
1-5 or one of its names, ``Markdown`` a yes/no word, ``Click`` a link, and a body over 4,096 bytes
is refused (ntfy would turn it into an attachment). With NTFY_ACTIONS configured, a plain
notification carries them as written, or after the ``view`` action of its ``Click`` URL.

Every published message is kept in a per-topic cache and served by
``GET /<topic>/json?poll=1&since=<all | unix time | message id>`` as newline-delimited JSON, the
way ntfy's cache answers it (a message id it no longer has means "all"). Publishing with
``X-Sequence-ID`` (or to ``/<topic>/<sequence id>``) updates a notification, as ntfy 2.16 does.
The phone ``press``es an ``http`` action by making the request the action describes.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import string
import threading
import time
from typing import Any

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOPIC = "agent-alerts-5f2c9d81"
TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
USERNAME = "alice"
PASSWORD = "pa55-w0rd-ntfy"

MAX_ACTIONS = 3
MAX_BODY = 4096  # a longer message becomes an attachment: mcp-push cuts it to fit
PRIORITIES = {"1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent"}
ACTION_KEYS = {
    "view": {"action", "label", "url", "clear"},
    "http": {"action", "label", "url", "method", "body", "clear"},
    "broadcast": {"action", "label", "intent", "clear"},
    "copy": {"action", "label", "value", "clear"},
}
_INVALID_ACTIONS = Reply(
    400,
    {
        "code": 40018,
        "http": 400,
        "error": "invalid request: actions invalid",
        "link": "https://ntfy.sh/docs/publish/#action-buttons",
    },
)
_ID_CHARS = string.ascii_letters + string.digits


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes (ntfy's simple action format quotes with ' or ")."""
    parts, current, quote = [], "", ""
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == sep:
            parts.append(current)
            current = ""
        else:
            current += ch
    if quote:
        raise ValueError("unterminated quote")
    parts.append(current)
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_actions(header: str) -> list[dict[str, Any]]:
    """An Actions header as ntfy reads it; ValueError says what ntfy would refuse."""
    header = header.strip()
    if header.startswith("["):
        actions = json.loads(header)
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            raise ValueError("JSON actions must be an array of objects")
    else:
        actions = []
        for spec in _split(header, ";"):
            if not spec.strip():
                continue
            fields = [f for f in _split(spec, ",")]
            action: dict[str, Any] = {"action": _unquote(fields[0]).lower()}
            positional = ["label", "url"] if action["action"] in ("view", "http") else ["label"]
            for field in fields[1:]:
                key, eq, value = field.partition("=")
                if eq and (
                    key.strip() in ("label", "url", "method", "body", "clear", "intent", "value")
                    or key.strip().startswith(("headers.", "extras."))
                ):
                    name = key.strip()
                    if name.startswith(("headers.", "extras.")):
                        group, _, sub = name.partition(".")
                        action.setdefault(group, {})[sub] = _unquote(value)
                    else:
                        action[name] = _unquote(value)
                elif positional:
                    action[positional.pop(0)] = _unquote(field)
                else:
                    raise ValueError(f"unexpected field {field.strip()!r}")
            actions.append(action)
    if len(actions) > MAX_ACTIONS:
        raise ValueError(f"{len(actions)} actions; ntfy allows {MAX_ACTIONS}")
    for action in actions:
        kind = action.get("action")
        if kind not in ACTION_KEYS:
            raise ValueError(f"unknown action {kind!r}")
        if not str(action.get("label", "")).strip():
            raise ValueError("action without a label")
        if kind in ("view", "http") and not str(action.get("url", "")).startswith(("http://", "https://")):
            raise ValueError(f"{kind} action without an http(s) URL")
        extra = (
            set(action)
            - ACTION_KEYS[kind]
            - ({"headers"} if kind == "http" else set())
            - ({"extras"} if kind == "broadcast" else set())
        )
        if extra:
            raise ValueError(f"unknown keys {sorted(extra)} in a {kind} action")
        if "clear" in action and str(action["clear"]).lower() not in ("true", "false"):
            raise ValueError("clear must be true or false")
    return actions


class FakeNtfy(FakeProvider):
    replies = {
        "permanent": Reply(
            403, {"code": 40301, "http": 403, "error": "forbidden", "link": "https://ntfy.sh/docs/publish/"}
        ),
        "transient": Reply(500, {"code": 50001, "http": 500, "error": "internal server error"}),
        "rate_limited": Reply(429, {"code": 42901, "http": 429, "error": "limit reached: too many requests"}),
    }

    def __init__(self) -> None:
        super().__init__()
        self.actions: str | None = None
        self.cache: dict[str, list[dict[str, Any]]] = {}  # topic -> messages, oldest first
        self.reply_topics: set[str] = set()  # topics named by http actions: the phone may publish there
        self.deleted: list[tuple[str, str]] = []  # (topic, sequence id) of DELETE requests
        self.polls: list[Recorded] = []
        self._order = itertools.count()
        self.changed = threading.Condition(threading.Lock())

    def configure(self, env: dict[str, str]) -> None:
        self.actions = env.get("NTFY_ACTIONS")

    # --- publishing -------------------------------------------------------------------------------
    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode == "ok":
            return Reply(200, self._publish(request))
        return self.replies[mode]

    def _publish(self, request: Recorded) -> dict[str, Any]:
        segments = request.path.strip("/").split("/")
        topic = segments[0]
        sequence = segments[1] if len(segments) > 1 else request.header("x-sequence-id") or None
        message: dict[str, Any] = {
            "id": "".join(secrets.choice(_ID_CHARS) for _ in range(12)),
            "time": int(time.time()),
            "expires": int(time.time()) + 43200,
            "event": "message",
            "topic": topic,
            "message": request.body.decode(),
        }
        for header, key in (("title", "title"), ("tags", "tags"), ("priority", "priority"), ("click", "click")):
            value = request.header(header)
            if value:
                message[key] = value.split(",") if key == "tags" else (int(value) if key == "priority" else value)
        if request.header("actions"):
            message["actions"] = parse_actions(request.header("actions"))
        if request.header("markdown").lower() in ("yes", "true", "1"):
            message["content_type"] = "text/markdown"
        if sequence:
            message["sequence_id"] = sequence
        with self.changed:
            message["_order"] = next(self._order)
            self.cache.setdefault(topic, []).append(message)
            self.changed.notify_all()
        return {k: v for k, v in message.items() if k != "_order"}

    def check(self, request: Recorded) -> None:
        segments = request.path.strip("/").split("/")
        topic = segments[0]
        if request.method not in ("POST", "PUT") or len(segments) > 2 or topic not in {TOPIC, *self.reply_topics}:
            raise Rejected(
                f"bad request line {request.method} {request.path}",
                Reply(404, {"code": 40401, "http": 404, "error": "page not found"}),
            )
        if topic == TOPIC:  # a reply topic takes anonymous posts (`ntfy access everyone <topic> write-only`)
            self._check_auth(request)
        elif request.headers.get("authorization"):
            raise Rejected("a credential was sent to the reply topic: it travelled in a button", _INVALID_ACTIONS)
        invalid = Reply(400, {"code": 40001, "http": 400, "error": "invalid request"})
        if not request.body or (topic == TOPIC and not request.header("title")):
            raise Rejected("missing title or body", invalid)
        if any(not value.isascii() for value in request.headers.values()):
            raise Rejected("a header is not ASCII (not RFC 2047-encoded)", invalid)
        self._check_headers(request, invalid)
        actions = request.header("actions")
        if actions:
            try:
                parsed = parse_actions(actions)
            except ValueError as exc:
                raise Rejected(f"actions {actions!r}: {exc}", _INVALID_ACTIONS) from None
            if any(a.get("headers") for a in parsed):
                raise Rejected("an action carries headers (a credential in button data)", _INVALID_ACTIONS)
            replies = {a["url"].rstrip("/").rpartition("/")[2] for a in parsed if a["action"] == "http"}
            with self.changed:
                self.reply_topics.update(t for t in replies if t)
            if self.actions is not None and not replies:
                self._check_configured(actions, parsed, request.header("click"), invalid)
        elif self.actions is not None and topic == TOPIC and not request.header("x-sequence-id"):
            raise Rejected(f"actions missing, expected {self.actions!r}", invalid)

    def _check_configured(self, actions: str, parsed: list[dict[str, Any]], click: str, invalid: Reply) -> None:
        """A plain notification carries NTFY_ACTIONS: as written when alone, else after the view
        action of its Click URL, as many as fit."""
        if actions == self.actions:
            return
        opens = parsed[:1] if parsed and parsed[0]["action"] == "view" and click and parsed[0]["url"] == click else []
        configured = parse_actions(self.actions or "")
        if not opens or parsed[1:] != configured[: MAX_ACTIONS - 1]:
            raise Rejected(f"actions {actions!r} != {self.actions!r} (after an Open of {click!r})", invalid)

    def _check_headers(self, request: Recorded, invalid: Reply) -> None:
        """Priority, Markdown, Tags and Click as ntfy reads them."""
        priority = request.header("priority")
        if priority and priority.lower() not in PRIORITIES:
            raise Rejected(
                f"priority {priority!r}", Reply(400, {"code": 40007, "http": 400, "error": "invalid priority"})
            )
        markdown = request.header("markdown")
        if markdown and markdown.lower() not in ("yes", "true", "1", "no", "false", "0"):
            raise Rejected(f"Markdown {markdown!r}", invalid)
        click = request.header("click")
        if click and not click.lower().startswith(("http://", "https://", "mailto:", "geo:")):
            raise Rejected(f"Click {click!r} is not a link", invalid)
        if len(request.body) > MAX_BODY:
            raise Rejected(f"body of {len(request.body)} bytes: ntfy would turn it into an attachment", invalid)

    def _check_auth(self, request: Recorded) -> None:
        basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") not in (f"Bearer {TOKEN}", basic):
            raise Rejected("bad auth", Reply(401, {"code": 40101, "http": 401, "error": "unauthorized"}))

    # --- subscribing (poll) and deleting ------------------------------------------------------
    def _answer(self, request: Recorded) -> Reply:
        if request.method == "GET" or request.method == "DELETE":
            try:
                self._check_auth(request)
                return self._poll(request) if request.method == "GET" else self._delete(request)
            except Rejected as rejected:
                with self._lock:
                    self.problems.append(rejected.problem)
                return rejected.reply
        return super()._answer(request)

    def _poll(self, request: Recorded) -> Reply:
        topic, _, kind = request.path.strip("/").partition("/")
        if kind != "json":
            raise Rejected(
                f"GET {request.path}: mcp-push reads /<topic>/json",
                Reply(404, {"code": 40401, "http": 404, "error": "page not found"}),
            )
        if request.param("poll") not in ("1", "yes", "true"):
            raise Rejected(
                "a stream without poll=1 never ends; the fake serves polls only",
                Reply(400, {"code": 40001, "http": 400, "error": "invalid request"}),
            )
        since = request.param("since") or "all"
        with self.changed:
            self.polls.append(request)
            messages = sorted(self.cache.get(topic, []), key=lambda m: (m["time"], m["_order"]))
        if since == "all":
            chosen = messages
        elif since.isdigit():
            chosen = [m for m in messages if m["time"] >= int(since)]
        else:
            ids = [m["id"] for m in messages]
            chosen = messages[ids.index(since) + 1 :] if since in ids else messages  # an id it lost: all
        lines = "".join(json.dumps({k: v for k, v in m.items() if k != "_order"}) + "\n" for m in chosen)
        return Reply(200, lines, {"Content-Type": "application/x-ndjson; charset=utf-8"})

    def _delete(self, request: Recorded) -> Reply:
        segments = request.path.strip("/").split("/")
        if len(segments) != 2 or segments[0] != TOPIC:
            raise Rejected(
                f"DELETE {request.path}", Reply(404, {"code": 40401, "http": 404, "error": "page not found"})
            )
        with self.changed:
            self.deleted.append((segments[0], segments[1]))
            self.changed.notify_all()
        return Reply(
            200,
            {
                "id": "".join(secrets.choice(_ID_CHARS) for _ in range(12)),
                "time": int(time.time()),
                "event": "message_delete",
                "topic": segments[0],
                "sequence_id": segments[1],
            },
        )

    # --- the phone -----------------------------------------------------------------------------
    def notifications(self, topic: str = TOPIC) -> list[dict[str, Any]]:
        with self.changed:
            return [{k: v for k, v in m.items() if k != "_order"} for m in self.cache.get(topic, [])]

    def wait_message(self, count: int = 1, topic: str = TOPIC, timeout: float = 15.0) -> dict[str, Any]:
        """The ``count``-th message published to ``topic``, once published."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.cache.get(topic, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {count} messages on the topic")
                self.changed.wait(left)
            return {k: v for k, v in self.cache[topic][count - 1].items() if k != "_order"}

    def wait_update(self, sequence_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The first message that updates the notification ``sequence_id``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [m for m in self.cache.get(TOPIC, []) if m.get("sequence_id") == sequence_id]
                if found:
                    return {k: v for k, v in found[0].items() if k != "_order"}
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for an update of {sequence_id}")
                self.changed.wait(left)

    def press(self, message_id: str, label: str) -> int:
        """Tap the action labelled ``label`` of a notification: make the request it describes, as the
        ntfy app does; return the HTTP status."""
        import httpx

        (message,) = [m for m in self.notifications() if m["id"] == message_id]
        (action,) = [a for a in message.get("actions", []) if a["label"] == label]
        assert action["action"] == "http", action
        response = httpx.request(
            action.get("method", "POST"),
            action["url"],
            headers=action.get("headers", {}),
            content=action.get("body", "").encode(),
            timeout=10,
        )
        return response.status_code


CASE = ChannelCase(
    channel="ntfy",
    fake=FakeNtfy,
    env=lambda url: {"NTFY_URL": url, "NTFY_TOPIC": TOPIC, "NTFY_TOKEN": TOKEN},
    secrets=(TOPIC, TOKEN),
    permanent_reason="forbidden",
    rate_wait=5.0,
)


def title_of(request: Recorded) -> str:
    """The Title header as ntfy reads it (RFC 2047-decoded)."""
    return request.header("title")
