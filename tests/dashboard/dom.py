"""A tiny HTML tree for assertions on what the page shows (server HTML and Chromium's --dump-dom alike)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """Visible-ish text, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in ("script", "style", "title"):
                parts.append(child.text)
        return " ".join(" ".join(parts).split())

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        def match(n: Node) -> bool:
            if tag is not None and n.tag != tag:
                return False
            if cls is not None and cls not in n.classes:
                return False
            return all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())

        return [n for n in self.walk() if match(n)]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'} class={cls} {attrs}> on the page"
        return found[0]

    def having(self, attr: str) -> list[Node]:
        return [n for n in self.walk() if attr in n.attrs]

    def where(self, predicate: Callable[[Node], bool]) -> list[Node]:
        return [n for n in self.walk() if predicate(n)]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


# --- what the dashboard shows --------------------------------------------------------------


def run_statuses(page: Node) -> dict[str, str]:
    """Run id -> overall status, from the recent-runs list."""
    runs = page.find("ol", "runs")
    return {li.attrs["data-run"]: li.attrs["data-status"] for li in runs.find_all("li")}


def selected_run(page: Node) -> Node:
    return page.find("section", "run")


def deliveries(page: Node) -> dict[str, list[Node]]:
    """Channel -> its delivery items in the selected run (newest ticket first)."""
    found: dict[str, list[Node]] = {}
    for li in selected_run(page).find_all("li", "delivery"):
        found.setdefault(li.attrs["data-channel"], []).append(li)
    return found


def outcomes(delivery: Node) -> list[str]:
    return [n.attrs["data-outcome"] for n in delivery.having("data-outcome")]


def tile(page: Node, name: str) -> str:
    return page.find("div", "tile", data_tile=name).text
