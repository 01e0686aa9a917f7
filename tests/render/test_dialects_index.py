"""``DIALECTS`` is written out so that naming the dialects imports no emitter: it must stay the
emitters' keys, and importing the package (as every producer does for ``render.priority``) must
load neither the tree nor an emitter."""

from __future__ import annotations

from mcp_push.render import DIALECTS, _emitters
from tests.helpers import fresh_python


def test_dialects_are_the_emitters_keys() -> None:
    assert tuple(_emitters()) == DIALECTS


def test_importing_priority_loads_no_tree_or_emitter() -> None:
    code = (
        "import sys, mcp_push.render.priority, mcp_push.render.source, mcp_push.render.links; "
        "print(sorted(m for m in ('mcp_push.render.tree', 'mcp_push.render.emit', 'mcp_push.render.html') "
        "if m in sys.modules))"
    )
    assert fresh_python(code).strip() == "[]"
