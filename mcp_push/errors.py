"""The errors mcp-push raises to its callers: each says what is wrong and what to do."""


class MCPPushError(Exception):
    """Base class of every error mcp-push reports to a user or an agent."""


class InputError(MCPPushError):
    """The caller's input is invalid; nothing was written."""


class ConfigError(MCPPushError):
    """The configuration (environment, config.sh, MCP_PUSH_HOME) is unusable."""
