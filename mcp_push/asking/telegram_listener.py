"""Answers from Telegram: button presses and replies, read by getUpdates long polling.

Only TG_USER_ID answers: a press or reply from anyone else is logged and ignored (a press is
still answered, so their client stops spinning). Every press gets ``answerCallbackQuery`` with
what happened ("✅ Answered: Allow", "already answered" …). A reply to an ask's message answers a
free-text ask (or names one of its choices). The offset is committed per update, after its answer
was written; an update seen again after a crash is a replay, which the ledger refuses.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp_push.asking.answers import apply_answer, apply_token
from mcp_push.asking.listeners import Context, log_answer, status_line
from mcp_push.channels.base import short_hash, truncate
from mcp_push.channels.errors import DeliveryError, PermanentError
from mcp_push.channels.telegram import MAX_TEXT, Telegram
from mcp_push.storage.base import AskRecord, TicketRecord

log = logging.getLogger(__name__)

POLL_SECONDS = 5  # getUpdates long-poll timeout (well inside the lease, renewed before each poll)
CONFLICT_SECONDS = 15.0  # another bot instance polls (outside this ledger): wait this long
MAX_FAILURES = 3  # an update that fails this often is skipped (logged), so one bad update cannot stall the bot
STRANGER_TEXT = "Only the owner of this bot can answer."
NOT_MODIFIED = "message is not modified"
GONE = "message to edit not found"


class TelegramListener:
    """One bot's getUpdates loop (run by ``listeners.run_source`` while its lease is held)."""

    kind = "telegram"

    def __init__(self, ctx: Context, channel: Telegram):
        self.ctx = ctx
        self.channel = channel
        self.name = channel.id  # telegram:2 reads TG_BOT_TOKEN_2's updates, answered by TG_USER_ID_2
        self.owner_id = channel.get("TG_USER_ID")
        self.owner_var = channel.variable("TG_USER_ID")
        self.lease = f"telegram:{short_hash(channel.get('TG_BOT_TOKEN'))}"  # per bot: one poller across hosts
        self.cursor = f"{self.lease}:offset"
        self._failures: dict[int, int] = {}

    def round(self, waiting: list[AskRecord]) -> None:
        raw = self.ctx.ledger.cursor_get(self.cursor)
        offset = int(raw) if raw else 0
        payload: dict[str, Any] = {"timeout": POLL_SECONDS, "allowed_updates": ["callback_query", "message"]}
        if offset:
            payload["offset"] = offset
        try:
            updates = self.channel.call("getUpdates", payload, timeout=POLL_SECONDS + 10)
        except DeliveryError as exc:
            if exc.code == 409:
                log.warning(
                    "Telegram: another program polls this bot (409 Conflict); waiting %.0fs. "
                    "Run one mcp-push ledger per bot, or stop the other bot instance",
                    CONFLICT_SECONDS,
                )
                self.ctx.stopped.wait(CONFLICT_SECONDS)
                return
            raise
        for update in updates or []:
            update_id = int(update["update_id"])
            try:
                self.handle(update)
            except DeliveryError:
                raise
            except Exception:
                failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
                if failures < MAX_FAILURES:
                    raise  # not committed: read again next round
                log.exception("Telegram update %d failed %d times; skipping it", update_id, failures)
            self._failures.pop(update_id, None)
            self.ctx.ledger.cursor_put(self.cursor, str(update_id + 1), self.ctx.clock())

    # --- one update ---------------------------------------------------------------------------
    def handle(self, update: dict[str, Any]) -> None:
        if "callback_query" in update:
            self._press(update["callback_query"])
        elif "message" in update:
            self._reply(update["message"])

    def _press(self, query: dict[str, Any]) -> None:
        sender = str((query.get("from") or {}).get("id", ""))
        if sender != self.owner_id:
            log.warning("%s: ignored a button press from user %s (not %s)", self.name, sender or "?", self.owner_var)
            self._toast(query, STRANGER_TEXT)
            return
        result = apply_token(
            self.ctx.ledger, self.ctx.key, str(query.get("data") or ""), via=self.name, by=sender, now=self.ctx.clock()
        )
        log_answer(log, result, "Telegram", "refused an answer", logging.WARNING)
        self._toast(query, result.message)

    def _toast(self, query: dict[str, Any], text: str) -> None:
        """answerCallbackQuery: always sent, once. Refused (too late: a replayed update) or lost, it is
        not sent again: the answer is written, and a retry would only tell "already answered"."""
        try:
            self.channel.call("answerCallbackQuery", {"callback_query_id": query["id"], "text": text[:200]})
        except DeliveryError as exc:
            log.debug("Telegram: answerCallbackQuery not delivered: %s", exc.reason)

    def _reply(self, message: dict[str, Any]) -> None:
        replied = message.get("reply_to_message") or {}
        text = str(message.get("text") or "").strip()
        if not replied.get("message_id") or not text:
            return  # a message that answers nothing: not ours to read
        sender = str((message.get("from") or {}).get("id", ""))
        if sender != self.owner_id:
            log.warning("%s: ignored a reply from user %s (not %s)", self.name, sender or "?", self.owner_var)
            return
        delivery = self.ctx.ledger.delivery_by_provider_id(self.name, str(replied["message_id"]))
        ask = None if delivery is None else self.ctx.ledger.get_ask(delivery.ticket)
        if delivery is None or ask is None:
            return  # a reply to a plain notification
        choice = next((i for i, label in enumerate(ask.choices) if label.casefold() == text.casefold()), None)
        if choice is None and not ask.allow_text:
            labels = ", ".join(ask.choices)
            self._say(message, f"This question takes one of its buttons ({labels}), or their label as a reply.")
            return
        result = apply_answer(
            self.ctx.ledger,
            ask.ticket,
            via=self.name,
            by=sender,
            now=self.ctx.clock(),
            choice=choice,
            text=None if choice is not None else text,
        )
        log_answer(log, result, "Telegram", "refused an answer", logging.WARNING)
        self._say(message, result.message)

    def _say(self, message: dict[str, Any], text: str) -> None:
        """Tell the person what their reply did, as a reply to it."""
        payload = {
            "chat_id": self.owner_id,
            "text": truncate(text, MAX_TEXT),
            "reply_to_message_id": message.get("message_id"),
            "allow_sending_without_reply": True,
        }
        try:
            self.channel.call("sendMessage", payload)
        except DeliveryError as exc:
            log.debug("Telegram: could not confirm a reply: %s", exc.reason)


class TelegramCloser:
    """Edits an ask's Telegram message to say how it ended, removing its buttons."""

    def __init__(self, channel: Telegram):
        self.channel = channel

    def close(self, ask: AskRecord, ticket: TicketRecord, provider_id: str) -> None:
        text = truncate(f"{ticket.title}\n\n{ticket.content}\n\n{status_line(ask)}", MAX_TEXT)
        payload = {"chat_id": self.channel.get("TG_USER_ID"), "message_id": int(provider_id), "text": text}
        try:
            self.channel.call("editMessageText", payload)
        except PermanentError as exc:
            if NOT_MODIFIED in exc.reason or GONE in exc.reason:
                return  # already says so (an earlier close), or the person deleted it
            raise
