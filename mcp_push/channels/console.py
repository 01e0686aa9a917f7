"""Console: writes the notification to the process's stderr (never stdout, which MCP owns)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from mcp_push.channels.base import Channel, Message, Receipt, Setting
from mcp_push.terminal import printable

TRUE_WORDS = {"1", "true", "yes", "on"}


class Console(Channel):
    """Prints each notification to the worker's stderr; handy for trying mcp-push out."""

    id = "console"
    name = "Console (stderr)"
    settings = (Setting("CONSOLE", required=True, example="true"),)

    @classmethod
    def enabled(cls, env: Mapping[str, str]) -> bool:
        return env.get("CONSOLE", "").strip().lower() in TRUE_WORDS

    def send(self, message: Message) -> Receipt:
        # stderr is usually a terminal: an agent's title must not be able to drive it.
        print(f"[mcp-push] {printable(self.plain_text(message))}", file=sys.stderr, flush=True)
        return Receipt()
