"""``python -m tests.golden --update``: rewrite the golden requests and print what changed."""

from __future__ import annotations

import sys

from tests.golden import update


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print("usage: python -m tests.golden --update   (rewrites tests/golden/*/*, prints the diff)")
        return 2
    changes = update()
    for change in changes:
        print(change)
    print(f"{len(changes)} golden file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
