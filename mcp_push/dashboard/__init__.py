"""A read-only web page over the ledger: runs, delivery timelines, each delivery's message as its
channel renders it, queue, workers, 24 h of outcomes.

A person should see at a glance whether their notifications arrived, and if not, the provider's
(redacted) reason, without reading JSON from ``mcp-push status``.
"""

from mcp_push.dashboard.app import create_dashboard_app, serve_dashboard

__all__ = ["create_dashboard_app", "serve_dashboard"]
