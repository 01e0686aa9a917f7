"""mcp-push: durable notifications from AI agents to the channels people already read."""

__version__ = "0.1.0"
