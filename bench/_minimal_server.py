"""The baseline for bench/serve_spawn.py and bench/rss.py: an MCPServer with one trivial tool, on stdio."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
