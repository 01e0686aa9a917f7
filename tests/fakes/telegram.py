"""Telegram Bot API, as api.telegram.org answers it: sendMessage, and the two-way half of asks.

Besides sendMessage (with ``reply_markup`` validated: inline keyboards of buttons that carry
``callback_data`` of 1-64 bytes or an http(s) ``url``, or ``force_reply``), the fake keeps what a
bot sees of a chat:

- ``getUpdates`` with Telegram's offset rule (an update whose ``update_id`` is below the offset is
  confirmed and forgotten for good) and long polling (the request is held until an update arrives
  or ``timeout`` seconds pass). A getUpdates that arrives while another is held for the same bot
  ends the held one with Telegram's 409 "Conflict: terminated by other getUpdates request".
- ``answerCallbackQuery`` (each query answered once; an unknown or answered id is Telegram's 400)
  and ``editMessageText`` (recorded; the same text and keyboard again is Telegram's 400 "message is
  not modified").
- A phone: ``press`` a button of a sent message, ``reply`` to a message, as the chat's user
  (``from_id``) or anyone else. Both queue the update Telegram would deliver.

``parse_mode=HTML`` text is parsed as Telegram's parser does (``visible_text``): an unescaped
``<`` that opens no supported tag, an unclosed or mismatched tag, an ``<a>`` without ``href`` are
its 400 "can't parse entities"; the 1-4096 limit counts the parsed text in UTF-16 units, as
Telegram does. ``&`` that starts no entity stays a literal ``&``, as Telegram leaves it.

Message ids count up from 42, one per sent message.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "1407203283:AAG9rt-6RDaaX0HBLZQq0laNOh898iFYaRQ"
CHAT = "1434078534"
STRANGER = 777000111  # a user who is not TG_USER_ID

CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def _bad(description: str, code: int = 400) -> Reply:
    return Reply(code, {"ok": False, "error_code": code, "description": description})


def _params(request: Recorded) -> dict[str, Any]:
    """A Bot API call's parameters: JSON body, form body or query string, as Telegram accepts them."""
    params: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.body and kind == "application/json":
        params.update(request.json())
    elif request.body:
        params.update(request.form())
    return params


def _markup(raw: Any) -> Any:
    """reply_markup arrives as an object (JSON body) or as JSON text (form, query)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise Rejected(
                "reply_markup is not JSON", _bad("Bad Request: can't parse reply keyboard markup JSON object")
            ) from None
    return raw


HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji",
}  # fmt: skip
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _attributes(raw: str) -> dict[str, str]:
    """A start tag's attributes: name="value", name='value', name=value or a bare name."""
    found = {}
    for match in _ATTRIBUTE.finditer(raw):
        if match.group(1):
            found[match.group(1).lower()] = next((g for g in match.groups()[1:] if g is not None), "")
    return found


def _unparsable(why: str) -> Rejected:
    return Rejected(f"HTML entities: {why}", _bad(f"Bad Request: can't parse entities: {why}"))


def visible_text(text: str) -> str:
    """The text Telegram shows for ``parse_mode=HTML`` (tags dropped, entities decoded), or Rejected
    with Telegram's "can't parse entities" reason."""
    out: list[str] = []
    open_tags: list[str] = []
    i = 0

    def offset(at: int) -> int:
        return len(text[:at].encode("utf-8"))

    while i < len(text):
        ch = text[i]
        if ch == "&":
            entity = _ENTITY.match(text, i)
            if entity:
                out.append(html.unescape(entity.group(0)))
                i = entity.end()
                continue
            out.append(ch)  # not an entity: Telegram keeps the '&'
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            i += 1
            continue
        end = text.find(">", i)
        if end < 0:
            raise _unparsable(f"Unclosed start tag at byte offset {offset(i)}")
        inside = text[i + 1 : end]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not open_tags:
                raise _unparsable(f"Unexpected end tag at byte offset {offset(i)}")
            if name != open_tags[-1]:
                raise _unparsable(
                    f'Unmatched end tag at byte offset {offset(i)}, expected "</{open_tags[-1]}>", found "</{name}>"'
                )
            open_tags.pop()
        else:
            name_match = re.match(r"[a-zA-Z-]*", inside)
            name = name_match.group(0).lower() if name_match else ""
            if name not in HTML_TAGS:
                raise _unparsable(f'Unsupported start tag "{name}" at byte offset {offset(i)}')
            attributes = _attributes(inside[len(name) :])
            if name == "a" and not attributes.get("href"):
                raise _unparsable(f'Tag "a" must have attribute "href" at byte offset {offset(i)}')
            if name == "span" and attributes.get("class") != "tg-spoiler":
                raise _unparsable(f'Tag "span" must have class "tg-spoiler" at byte offset {offset(i)}')
            if open_tags and open_tags[-1] in ("code", "pre") and not (open_tags[-1] == "pre" and name == "code"):
                raise _unparsable(f'Tag "{name}" can\'t be nested in "{open_tags[-1]}" at byte offset {offset(i)}')
            open_tags.append(name)
        i = end + 1
    if open_tags:
        raise _unparsable(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_text(params: dict[str, Any]) -> None:
    """``text`` as Telegram reads it: parsed in its ``parse_mode``, then 1-4096 UTF-16 units."""
    mode = params.get("parse_mode")
    if mode not in (None, "", "HTML"):
        raise Rejected(f"parse_mode {mode!r}", _bad(f"Bad Request: unsupported parse_mode {mode!r}"))
    shown = visible_text(str(params["text"])) if mode == "HTML" else str(params["text"])
    if not shown.strip():
        raise Rejected("text empty after parsing", _bad("Bad Request: message text is empty"))
    if utf16_length(shown) > 4096:
        raise Rejected("text too long", _bad("Bad Request: message is too long"))


def check_markup(raw: Any) -> None:
    """Validate reply_markup as Telegram does for the kinds mcp-push sends."""
    markup = _markup(raw)
    if not isinstance(markup, dict):
        raise Rejected(
            "reply_markup is not an object", _bad("Bad Request: can't parse reply keyboard markup JSON object")
        )
    if "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise Rejected(
                "force_reply must be true", _bad("Bad Request: can't parse reply keyboard markup JSON object")
            )
        return
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise Rejected(
            "inline_keyboard is not an array of arrays", _bad('Bad Request: field "inline_keyboard" must be an Array')
        )
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not str(button.get("text", "")).strip():
            raise Rejected(f"button without text: {button!r}", _bad("Bad Request: BUTTON_TEXT_INVALID"))
        data, url = button.get("callback_data"), button.get("url")
        if data is None and url is None:
            raise Rejected(
                f"button {button['text']!r} does nothing",
                _bad("Bad Request: text buttons are unallowed in the inline keyboard"),
            )
        if data is not None and not (isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= 64):
            raise Rejected(f"callback_data {data!r} is not 1-64 bytes", _bad("Bad Request: BUTTON_DATA_INVALID"))
        if url is not None:
            parts = urlsplit(str(url))
            if parts.scheme not in ("http", "https", "tg") or not parts.netloc or parts.hostname == "localhost":
                raise Rejected(
                    f"button URL {url!r} is invalid",
                    _bad(f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"),
                )


class FakeTelegram(FakeProvider):
    replies = {
        "ok": Reply(200, {"ok": True, "result": {"message_id": 42, "chat": {"id": int(CHAT)}, "date": 1700000000}}),
        "permanent": Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        "transient": Reply(502, "<html>502 Bad Gateway</html>"),
        "rate_limited": Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[int, dict[str, Any]] = {}  # message_id -> {"chat_id", "text", "reply_markup"}
        self.edits: list[dict[str, Any]] = []  # every accepted editMessageText, in order
        self.callback_answers: dict[str, dict[str, Any]] = {}  # callback_query_id -> answerCallbackQuery params
        self.conflicts: list[Recorded] = []  # getUpdates ended by another one (409)
        self.polls: list[Recorded] = []  # every getUpdates as it arrived
        self._message_ids = itertools.count(42)
        self._update_ids = itertools.count(500_000_001)
        self._query_ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []  # not yet confirmed
        self.issued: list[dict[str, Any]] = []  # every update the phone made, confirmed or not
        self.handed_out: list[dict[str, Any]] = []  # every update a getUpdates returned (a replay twice)
        self._queries: set[str] = set()  # callback queries not yet answered
        self._poll_turn = 0  # bumps with every getUpdates: a held one whose turn passed is terminated
        self.changed = threading.Condition(threading.Lock())
        self._holds: dict[str, list[threading.Event]] = {}  # method -> one-shot holds, first come first held
        self.held: list[Recorded] = []  # requests waiting on a hold now

    def hold(self, method: str) -> threading.Event:
        """Hold the next ``method`` call (a getUpdates after it picked its updates) until the returned
        event is set: a test can kill the client at that moment."""
        release = threading.Event()
        with self.changed:
            self._holds.setdefault(method, []).append(release)
        return release

    def _held(self, method: str, request: Recorded) -> None:
        with self.changed:
            holds = self._holds.get(method)
            release = holds.pop(0) if holds else None
            if release is not None:
                self.held.append(request)
                self.changed.notify_all()
        if release is not None:
            release.wait(60)

    # --- the Bot API --------------------------------------------------------------------------
    def check(self, request: Recorded) -> None:
        if request.path != f"/bot{TOKEN}/sendMessage":
            raise Rejected(
                f"bad path {request.path}", Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            )
        body = _params(request)
        if str(body.get("chat_id")) != CHAT or not body.get("text"):
            raise Rejected(
                "missing chat_id/text",
                Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}),
            )
        check_text(body)
        if "disable_notification" in body and not isinstance(body["disable_notification"], bool | str):
            raise Rejected("disable_notification is not a boolean", _bad("Bad Request: can't parse request"))
        if "reply_markup" in body:
            check_markup(body["reply_markup"])

    def reply_for(self, mode: str, request: Recorded) -> Reply:
        if mode != "ok":
            return self.replies[mode]
        body = _params(request)
        message_id = next(self._message_ids)
        markup = _markup(body["reply_markup"]) if "reply_markup" in body else None
        with self.changed:
            self.messages[message_id] = {"chat_id": CHAT, "text": body["text"], "reply_markup": markup}
            self.changed.notify_all()
        return Reply(200, {"ok": True, "result": self._message(message_id)})

    def _answer(self, request: Recorded) -> Reply:
        method = request.path.rpartition("/")[2]
        calls = {
            "getUpdates": self._get_updates,
            "answerCallbackQuery": self._answer_callback,
            "editMessageText": self._edit,
        }
        if method not in calls:
            return super()._answer(request)  # sendMessage, scripted like every fake
        try:
            if request.path != f"/bot{TOKEN}/{method}":
                raise Rejected(f"bad path {request.path}", _bad("Unauthorized", 401))
            return calls[method](request, _params(request))
        except Rejected as rejected:
            with self._lock:
                self.problems.append(rejected.problem)
            return rejected.reply

    def _get_updates(self, request: Recorded, params: dict[str, Any]) -> Reply:
        offset, timeout, limit = (
            int(params.get("offset", 0)),
            float(params.get("timeout", 0)),
            int(params.get("limit", 100)),
        )
        deadline = time.monotonic() + max(0.0, timeout)
        with self.changed:
            self.polls.append(request)
            self._poll_turn += 1
            turn = self._poll_turn
            self.changed.notify_all()  # a getUpdates held for this bot now ends with 409
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            while True:
                if turn != self._poll_turn:
                    self.conflicts.append(request)
                    return _bad(CONFLICT, 409)
                if self._updates:
                    chosen = self._updates[: max(1, min(limit, 100))]
                    self.handed_out.extend(chosen)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return Reply(200, {"ok": True, "result": []})
                self.changed.wait(left)
        self._held("getUpdates", request)
        return Reply(200, {"ok": True, "result": chosen})

    def _answer_callback(self, request: Recorded, params: dict[str, Any]) -> Reply:
        self._held("answerCallbackQuery", request)
        query = str(params.get("callback_query_id", ""))
        if len(str(params.get("text", ""))) > 200:
            raise Rejected("callback answer text over 200 characters", _bad("Bad Request: MESSAGE_TOO_LONG"))
        with self.changed:
            if query not in self._queries:
                return _bad(QUERY_INVALID)  # answered already or never asked: not a client mistake to flag
            self._queries.discard(query)
            self.callback_answers[query] = params
            self.changed.notify_all()
        return Reply(200, {"ok": True, "result": True})

    def _edit(self, request: Recorded, params: dict[str, Any]) -> Reply:
        if str(params.get("chat_id")) != CHAT:
            raise Rejected(f"edit in chat {params.get('chat_id')!r}", _bad("Bad Request: chat not found"))
        text = str(params.get("text", ""))
        if not text or len(text) > 4096:
            raise Rejected("edit text empty or too long", _bad("Bad Request: message text is empty"))
        check_text(params)
        markup = _markup(params["reply_markup"]) if "reply_markup" in params else None
        if markup is not None:
            check_markup(markup)
        with self.changed:
            message = self.messages.get(int(params.get("message_id", 0)))
            if message is None:
                return _bad("Bad Request: message to edit not found")
            if message["text"] == text and message["reply_markup"] == markup:
                return _bad(NOT_MODIFIED)
            message.update(text=text, reply_markup=markup)
            self.edits.append({"message_id": int(params["message_id"]), "text": text, "reply_markup": markup})
            self.changed.notify_all()
            return Reply(200, {"ok": True, "result": self._message(int(params["message_id"]))})

    def _message(self, message_id: int) -> dict[str, Any]:
        message = self.messages[message_id]
        found: dict[str, Any] = {
            "message_id": message_id,
            "from": {"id": 1407203283, "is_bot": True, "first_name": "mcp-push", "username": "mcp_push_bot"},
            "chat": {"id": int(CHAT), "first_name": "Ada", "type": "private"},
            "date": int(time.time()),
            "text": message["text"],
        }
        if message["reply_markup"] and "inline_keyboard" in message["reply_markup"]:
            found["reply_markup"] = message["reply_markup"]
        return found

    # --- the phone ----------------------------------------------------------------------------
    def buttons(self, message_id: int) -> list[dict[str, Any]]:
        """The inline buttons a message shows now (none once edited away)."""
        with self.changed:
            markup = self.messages[message_id]["reply_markup"] or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def press(self, message_id: int, label: str, *, from_id: int = int(CHAT), data: str | None = None) -> str:
        """Press the button labelled ``label`` of a sent message (or send ``data`` as its callback
        data, as a forged client could); return the callback query's id."""
        if data is None:
            (button,) = [b for b in self.buttons(message_id) if b["text"] == label]
            data = button["callback_data"]
        query = f"{next(self._query_ids):019d}"
        with self.changed:
            self._queries.add(query)
            callback = {
                "id": query,
                "from": self._user(from_id),
                "message": self._message(message_id),
                "chat_instance": "-5349283722198212930",
                "data": data,
            }
            self._updates.append({"update_id": next(self._update_ids), "callback_query": callback})
            self.issued.append(self._updates[-1])
            self.changed.notify_all()
        return query

    def reply(self, message_id: int, text: str, *, from_id: int = int(CHAT)) -> int:
        """Reply to a sent message with ``text``; return the update's id."""
        with self.changed:
            update_id = next(self._update_ids)
            message = {
                "message_id": next(self._message_ids),
                "from": self._user(from_id),
                "chat": {"id": int(CHAT), "first_name": "Ada", "type": "private"},
                "date": int(time.time()),
                "text": text,
                "reply_to_message": self._message(message_id),
            }
            self._updates.append({"update_id": update_id, "message": message})
            self.issued.append(self._updates[-1])
            self.changed.notify_all()
        return update_id

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset above them."""
        with self.changed:
            return list(self._updates)

    def wait_callback_answer(self, query: str, timeout: float = 15.0) -> str:
        """The text the bot answered a pressed button with."""
        return self._wait(lambda: self.callback_answers.get(query), timeout, f"an answer to callback {query}")["text"]

    def wait_edit(self, message_id: int, timeout: float = 15.0) -> dict[str, Any]:
        """The last edit of a message, once there is one."""
        edits = self._wait(
            lambda: [e for e in self.edits if e["message_id"] == message_id], timeout, f"an edit of {message_id}"
        )
        return edits[-1]

    def wait_message(self, count: int = 1, timeout: float = 15.0) -> int:
        """The id of the ``count``-th sent message, once sent."""
        return self._wait(
            lambda: sorted(self.messages)[count - 1] if len(self.messages) >= count else None,
            timeout,
            f"{count} sent messages",
        )

    def _wait(self, probe: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (found := probe()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self.changed.wait(left)
            return found

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Ada" if str(user_id) == CHAT else "Mallory"}


CASE = ChannelCase(
    channel="telegram",
    fake=FakeTelegram,
    env=lambda url: {"TG_BOT_TOKEN": TOKEN, "TG_USER_ID": CHAT, "MCP_PUSH_ORIGIN_TELEGRAM": url},
    secrets=(TOKEN, TOKEN.split(":")[1]),
    permanent_reason="chat not found",
    rate_wait=3.0,
)
