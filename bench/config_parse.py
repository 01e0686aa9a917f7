"""Parsing a config.sh with a very large value: ours against shlex (what mcp-push used before).

shlex grows quadratically with the length of a token (a 2 MB value took 92 s); the tokenizer in
mcp_push.configfile makes one pass.

    python bench/config_parse.py [--mb 2] [--shlex-mb 0.4]
"""

from __future__ import annotations

import argparse
import shlex
import time

from mcp_push.configfile import read_config_text


def with_shlex(text: str) -> None:
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    while lexer.get_token() is not None:
        pass


def timed(parse, text: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    parse(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=2.0, help="size of the value parsed by ours")
    parser.add_argument("--shlex-mb", type=float, default=0.4, help="size parsed by shlex (it is slow)")
    args = parser.parse_args()
    for label, value in (("single-quoted", "'{}'"), ("double-quoted with escapes", '"{}"')):
        unit = "a" if label.startswith("single") else 'x\\"y '
        for name, parse, mb in (("ours", read_config_text, args.mb), ("shlex", with_shlex, args.shlex_mb)):
            body = unit * int(mb * 1_000_000 / len(unit))
            seconds = timed(parse, f"export WEBHOOK_BODY={value.format(body)}\n")
            print(f"{label:28} {name:6} {mb:5.2f} MB  {seconds:8.3f} s")


if __name__ == "__main__":
    main()
