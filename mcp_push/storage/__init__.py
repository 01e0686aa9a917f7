"""The ledger: interface and backends."""

from __future__ import annotations

from mcp_push.config import Settings
from mcp_push.storage.base import Delivery, Ledger, NewTicket, TicketRecord
from mcp_push.storage.sqlite import SqliteLedger

__all__ = ["Delivery", "Ledger", "NewTicket", "SqliteLedger", "TicketRecord", "open_ledger"]


def open_ledger(settings: Settings) -> Ledger:
    """The ledger the settings ask for (SQLite in MCP_PUSH_HOME by default)."""
    return SqliteLedger(settings.ledger_path)
