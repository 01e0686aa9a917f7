"""Text bound for a terminal, made inert.

Titles, messages, run ids and provider errors come from agents and from the network. Printed
raw, an escape sequence in them could recolour, move the cursor, rewrite what was printed
before (``\\r``), set the window title or ring the bell. Everything mcp-push prints for a person
goes through :func:`printable`; JSON output needs nothing (JSON escapes control characters).
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/APC/PM/SOS strings (up to BEL or ST),
# and the two-character escapes (ESC followed by one byte). The 8-bit C1 forms are removed with
# the other control characters below, which leaves their parameters as plain, inert text.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, DCS, SOS, PM, APC (terminated)
    r"|\x1b[ -/]*[0-~]"  # two-character escapes (with intermediates)
    r"|\x1b",  # a lone ESC (an unterminated string is left as inert text)
)
# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides that
# make text display in another order than it reads.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without escape sequences and control characters; newlines and tabs stay."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))
