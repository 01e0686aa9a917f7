"""ntfy: POST {NTFY_URL}/{NTFY_TOPIC}, the message as the raw body, metadata in headers.

The body is the content as Markdown (``Markdown: yes``; literal text escaped), cut to ntfy's
4,096 bytes, with the source line below it. ``Priority`` follows the message's level (1-5;
NTFY_PRIORITY, when set, is the priority of a ``normal`` one), ``Tags`` the event (an emoji on
the phone), and the message's URL is the ``Click`` target and a ``view`` action "Open".

On public servers the topic works as a password, so it is treated as a secret. An ask
(``Message.ask``) gets ``http`` action buttons (ntfy shows at most 3) that POST the choice's
signed token to a reply topic on the same server, with the channel's auth; more choices than
fit go through the answer page (a ``view`` action). The reply topic is ``NTFY_REPLY_TOPIC``,
or one derived from this home's answer key, the server and NTFY_TOPIC (unguessable). The token,
not the topic, is the proof: anyone may publish there. ``mcp_push.asking.ntfy_listener`` reads
the replies with ``poll``; ``close_request`` updates the notification once the ask ended.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_push.channels.base import (
    AskPrompt,
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    code_error,
    json_body,
    truncate,
)
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 4096
MAX_ACTIONS = 3  # ntfy's limit per notification
URL_ACTION = "Open"
CLOSED_PRIORITY = "2"  # the update that says an ask ended: no sound, no vibration


def _seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _header_text(text: str) -> str:
    """A header value ntfy reads back as written: non-ASCII goes RFC 2047-encoded (ntfy decodes it).

    The original mcp-push encodes Title and Actions the same way; plain ASCII is sent as is.
    """
    one_line = " ".join(text.split())
    if one_line.isascii():
        return one_line
    from email.header import Header  # the email package only for a title that needs it, at send time

    return Header(one_line, "utf-8").encode(maxlinelen=10_000)


@cache
def _derived_topic(home: str, where: str) -> str:
    from mcp_push.asking.tokens import AnswerKey  # only where an ask is sent or its replies are read

    return "mcp-push-reply-" + AnswerKey.load(Path(home)).derive(f"ntfy-reply:{where}")


def _quoted(value: str) -> str:
    """A value of ntfy's simple action format: quoted when it holds a separator or a quote."""
    value = " ".join(value.split())
    if not any(ch in value for ch in ",;=\"'"):
        return value
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "”") + '"'


def _ascii_url(url: str) -> str:
    """A URL fit for a header: any non-ASCII character percent-encoded (UTF-8)."""
    from urllib.parse import quote

    return "".join(ch if ch.isascii() else quote(ch) for ch in url)


class Ntfy(HttpChannel):
    id = "ntfy"
    name = "ntfy"
    settings = (
        Setting("NTFY_TOPIC", required=True, secret=True, example="my-agent-alerts-5f2c"),
        Setting("NTFY_URL", example="https://ntfy.sh"),
        Setting("NTFY_PRIORITY", example="3"),
        Setting("NTFY_TOKEN", secret=True, example="tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"),
        Setting("NTFY_USERNAME", example="alice"),
        Setting("NTFY_PASSWORD", secret=True, example="secret"),
        Setting("NTFY_ACTIONS", example="view, Open CI, https://ci.example.com", text=True),
        Setting("NTFY_REPLY_TOPIC", secret=True, example="my-agent-replies-9d3e"),
    )
    answers = True
    dialect = "ntfy"

    @property
    def base(self) -> str:
        return self.get("NTFY_URL", "https://ntfy.sh").rstrip("/")

    def reply_topic(self, *, create: bool = True) -> str:
        """Where the action buttons post answers: NTFY_REPLY_TOPIC, or one derived from this home's
        answer key, the server and the topic (unguessable; every worker of the home finds the same).
        ``create=False``: '' rather than create the key (listing secrets must not write files)."""
        chosen = self.get("NTFY_REPLY_TOPIC")
        if chosen:
            return chosen
        from mcp_push.config import default_home  # the home as Settings resolves it from the same env

        home = default_home(self.env)
        if not create and not (home / "answer.key").exists():
            return ""
        return _derived_topic(str(home), f"{self.base}/{self.get('NTFY_TOPIC')}")

    def secret_values(self) -> list[str]:
        derived = self.reply_topic(create=False) if self.get("NTFY_TOPIC") else ""
        return [*super().secret_values(), derived]

    def auth_headers(self) -> dict[str, str]:
        if self.get("NTFY_TOKEN"):
            return {"Authorization": f"Bearer {self.get('NTFY_TOKEN')}"}
        if self.get("NTFY_USERNAME") and self.get("NTFY_PASSWORD"):
            pair = f"{self.get('NTFY_USERNAME')}:{self.get('NTFY_PASSWORD')}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    def priority(self, message: Message) -> str:
        """ntfy's 1-5 for the message's level; NTFY_PRIORITY stands for ``normal``."""
        from mcp_push.render.priority import NTFY

        level = self.level(message)
        return self.get("NTFY_PRIORITY", "3") if level == "normal" else str(NTFY[level])

    def request(self, message: Message) -> HttpRequest:
        from mcp_push.render.priority import NTFY_TAGS

        headers = {"Title": _header_text(message.title), "Priority": self.priority(message), "Markdown": "yes"}
        if message.event in NTFY_TAGS:
            headers["Tags"] = NTFY_TAGS[message.event]
        note = ""
        ask_actions: list[str] = []
        if message.ask is not None:
            ask_actions, note = self._ask_actions(message.ask)
        if message.url:
            url = _ascii_url(message.url)
            headers["Click"] = url
            if len(ask_actions) < MAX_ACTIONS:
                ask_actions.append(f"view, {URL_ACTION}, {_quoted(url)}")
        actions = self.get("NTFY_ACTIONS")  # as written (it may be ntfy's JSON form) when it goes alone
        if ask_actions:
            configured = [a.strip() for a in actions.split(";") if a.strip()]
            actions = "; ".join([*ask_actions, *configured][:MAX_ACTIONS])
        if actions:
            headers["Actions"] = _header_text(actions)
        headers.update(self.auth_headers())
        room = MAX_BODY_BYTES - (len(note.encode("utf-8")) + 2 if note else 0)
        content = self.render_body(message, limit=room, unit="bytes", link=False) or message.title
        body = truncate(f"{content}\n\n{note}" if note else content, MAX_BODY_BYTES, unit="bytes")
        return HttpRequest("POST", f"{self.base}/{self.get('NTFY_TOPIC')}", content=body.encode(), headers=headers)

    def _ask_actions(self, ask: AskPrompt) -> tuple[list[str], str]:
        """The actions of an ask (an http one per choice, as many as fit; the answer page as a view
        action when choices are left over or room is left) and a note for what has no button."""
        reply_url = f"{self.base}/{self.reply_topic()}"
        pairs = list(zip(ask.choices, ask.tokens, strict=False))
        overflow = len(pairs) > MAX_ACTIONS
        fits = MAX_ACTIONS - 1 if overflow and ask.link else MAX_ACTIONS
        actions = []
        for label, token in pairs[:fits]:
            # No credential in the action: whoever reads the notification could read it. The reply
            # topic takes anonymous posts; the signed token in the body is the proof.
            actions.append(f"http, {_quoted(label)}, {reply_url}, method=POST, body={token}, clear=true")
        if ask.link and (overflow or ((ask.allow_text or not pairs) and len(actions) < MAX_ACTIONS)):
            actions.append(f"view, {_quoted('More…' if overflow else 'Answer page')}, {ask.link}")
        notes = []
        if overflow and not ask.link:
            notes.append("The other choices: answer on another channel or in the terminal.")
        if ask.allow_text:
            where = f"on the answer page: {ask.link}" if ask.link else "on another channel or in the terminal"
            notes.append(f"A written answer: give it {where}.")
        return actions, "\n".join(notes)

    def interpret(self, response: httpx.Response) -> Receipt:
        body = json_body(response)
        if response.is_success:
            if body.get("id"):
                return Receipt(str(body["id"]))
            raise PermanentError(f"ntfy answered HTTP {response.status_code} without a message id")
        raise code_error(
            response,
            body.get("code", response.status_code),
            str(body.get("error", "")),
            # 42901: burst used up, refills one message per 5 s. 42908: daily quota, resets at midnight.
            rate_limited={42901: 5.0, 42908: _seconds_to_utc_midnight()},
        )

    # --- the answer half: read replies, close the notification --------------------------------
    def poll(self, since: str) -> list[dict[str, Any]]:
        """The reply topic's cached messages after ``since`` (a message id, a unix time, or ``all``):
        ``GET /<topic>/json?poll=1&since=…``, newline-delimited JSON, oldest first."""
        request = HttpRequest(
            "GET",
            f"{self.base}/{self.reply_topic()}/json",
            params={"poll": "1", "since": since},
            headers=self.auth_headers(),
        )
        response = self.perform(request)
        if not response.is_success:
            self.interpret(response)  # raises the classified error
        messages = []
        for line in response.text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("event") == "message":
                messages.append(item)
        return messages

    def close_request(self, provider_id: str, title: str, text: str) -> HttpRequest:
        """Update the notification ``provider_id`` (ntfy 2.16+: a publish with its sequence id; older
        servers show it as a new, silent notification) to say how the ask ended, without buttons."""
        headers = {
            "Title": _header_text(title),
            "Priority": CLOSED_PRIORITY,
            "X-Sequence-ID": provider_id,
            **self.auth_headers(),
        }
        body = truncate(text, MAX_BODY_BYTES, unit="bytes")
        return HttpRequest("POST", f"{self.base}/{self.get('NTFY_TOPIC')}", content=body.encode(), headers=headers)
