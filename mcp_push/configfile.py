"""Reading a config.sh: the assignments a POSIX shell would make, from a file that may be a whole script.

Users keep their channel variables in the file QingLong taught them to write, and some of those
files are ordinary shell scripts (``if``, ``echo``, functions, ``source``). We never run them: we
take the plain assignments at the top level (``KEY=value``, ``export KEY=value``, several per
line) and skip everything else (commands, conditionals and what they contain, ``$(…)`` and
backquotes, here-documents) with one warning. Values are literal: no ``$VAR`` expansion, as in the
original mcp-push.

The tokenizer is our own and linear in the size of the file: ``shlex`` took 92 s on a 2 MB value.
It knows single quotes, double quotes with the escapes a POSIX shell honours inside them
(``\\$ \\` \\" \\\\`` and line continuation), backslash outside quotes, comments and ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mcp_push.errors import ConfigError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLAIN = re.compile(r"[^ \t\r\n'\"\\;&|<>()`$]+")  # characters with no meaning to the shell
_IN_DOUBLE = re.compile(r'[^"\\`$]+')
_DOUBLE_ESCAPES = frozenset('$`"\\')
_OPERATOR_CHARS = frozenset("&|<>()")
_TWO_CHAR_OPERATORS = frozenset({"&&", "||", ";;", "<<", ">>", "<&", ">&", "<>", ">|"})
_BLANKS = frozenset(" \t\r")

# Reserved words that open or close a compound command, and those after which a command follows.
_OPENERS = frozenset({"if", "while", "until", "for", "case", "select", "{"})
_CONDITION_OPENERS = frozenset({"if", "while", "until", "{"})
_CLOSERS = frozenset({"fi", "done", "esac", "}"})
_COMMAND_FOLLOWS = frozenset({"then", "else", "elif", "do", "!"})
_COMMAND_FOLLOWS_OPS = frozenset({"&&", "||", "|", "&"})


@dataclass
class Word:
    """One shell word after quote removal.

    ``plain`` is how many leading characters came unquoted and unescaped: an assignment's
    ``NAME=`` must lie there. ``dynamic`` marks command substitution, which we never run.
    """

    text: str
    plain: int
    dynamic: bool = False

    @property
    def is_reserved_form(self) -> bool:
        return self.plain == len(self.text) and not self.dynamic

    def assignment(self) -> tuple[str, str] | None:
        equals = self.text.find("=", 0, self.plain)
        if equals <= 0 or self.dynamic or not NAME.match(self.text, 0, equals):
            return None
        return self.text[:equals], self.text[equals + 1 :]


@dataclass
class Command:
    """The words and operators between two ``;`` or newlines; ``line`` is where it starts."""

    line: int
    tokens: list[Word | str] = field(default_factory=list)


@dataclass
class Parsed:
    """What a config file sets, and the lines skipped because they are not plain assignments."""

    values: dict[str, str]
    skipped: list[tuple[int, str]]


class _Lexer:
    """Splits text into commands, one pass over the characters."""

    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1
        self.heredocs: list[tuple[str, bool]] = []  # delimiters whose bodies start at the next newline

    def error(self, line: int, what: str) -> ConfigError:
        return ConfigError(f"{self.source}:{line}: {what}")

    def commands(self) -> Iterator[Command]:
        text, size = self.text, len(self.text)
        command = Command(self.line)
        while True:
            word = self._word()
            if word is not None:
                command.tokens.append(word)
            if self.pos >= size:
                yield command
                return
            char = text[self.pos]
            if char in _BLANKS:
                self.pos += 1
            elif char == "#" and word is None:  # a comment runs to the end of the line
                end = text.find("\n", self.pos)
                self.pos = size if end < 0 else end
            elif char == "\n" or char == ";":
                self.pos += 1
                if text.startswith(";;", self.pos - 1):
                    self.pos += 1
                if char == "\n":
                    self.line += 1
                    self._skip_heredocs()
                yield command
                command = Command(self.line)
            elif char in _OPERATOR_CHARS:
                operator = text[self.pos : self.pos + 2]
                if operator not in _TWO_CHAR_OPERATORS:
                    operator = char
                self.pos += len(operator)
                if operator == "<<":
                    self._heredoc_delimiter()
                command.tokens.append(operator)
            elif word is None:  # cannot happen (every other character starts a word); never loop on it
                self.pos += 1

    def _word(self) -> Word | None:
        """The word starting at ``pos``, or None when none starts there."""
        text, size = self.text, len(self.text)
        parts: list[str] = []
        plain: int | None = None  # set once something quoted or escaped arrives
        dynamic = False
        started = False
        length = 0
        while self.pos < size:
            char = text[self.pos]
            if char == "#" and not started:
                return None
            match = _PLAIN.match(text, self.pos)
            if match:
                parts.append(match.group())
                length += match.end() - self.pos
                self.pos = match.end()
                started = True
                continue
            if char == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                self.pos += 2
                if nxt == "\n":  # line continuation: nothing, not even a word boundary
                    self.line += 1
                    continue
                if plain is None:
                    plain = length
                parts.append(nxt)
                length += len(nxt)
                started = True
            elif char == "'":
                end = text.find("'", self.pos + 1)
                if end < 0:
                    raise self.error(self.line, "a single quote opened here is never closed; close it")
                if plain is None:
                    plain = length
                chunk = text[self.pos + 1 : end]
                self.line += chunk.count("\n")
                parts.append(chunk)
                length += len(chunk)
                self.pos = end + 1
                started = True
            elif char == '"':
                if plain is None:
                    plain = length
                chunk, quoted_dynamic = self._double_quoted()
                dynamic = dynamic or quoted_dynamic
                parts.append(chunk)
                length += len(chunk)
                started = True
            elif char == "`" or (char == "$" and text.startswith("$(", self.pos)):
                dynamic = True
                parts.append(text[self.pos : self.pos + (1 if char == "`" else 2)])
                length += len(parts[-1])
                self.pos += len(parts[-1])
                started = True
            elif char == "$":
                parts.append("$")
                length += 1
                self.pos += 1
                started = True
            else:  # a blank, a newline, ; or an operator ends the word
                break
        if not started:
            return None
        return Word("".join(parts), length if plain is None else plain, dynamic)

    def _double_quoted(self) -> tuple[str, bool]:
        """The inside of "…" starting at ``pos`` (on the quote), and whether it substitutes a command."""
        text, size = self.text, len(self.text)
        opened_at = self.line
        self.pos += 1
        parts: list[str] = []
        dynamic = False
        while True:
            if self.pos >= size:
                raise self.error(opened_at, "a double quote opened here is never closed; close it")
            match = _IN_DOUBLE.match(text, self.pos)
            if match:
                chunk = match.group()
                self.line += chunk.count("\n")
                parts.append(chunk)
                self.pos = match.end()
                continue
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(parts), dynamic
            if char == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                self.pos += 2
                if nxt == "\n":
                    self.line += 1
                elif nxt in _DOUBLE_ESCAPES:
                    parts.append(nxt)
                else:  # POSIX: the backslash stays before any other character
                    parts.append("\\" + nxt)
                continue
            if char == "`" or text.startswith("$(", self.pos):
                dynamic = True
            parts.append(char)
            self.pos += 1

    def _heredoc_delimiter(self) -> None:
        strip_tabs = self.text.startswith("-", self.pos)
        if strip_tabs:
            self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] in _BLANKS:
            self.pos += 1
        word = self._word()
        if word is not None and word.text:
            self.heredocs.append((word.text, strip_tabs))

    def _skip_heredocs(self) -> None:
        """Bodies of here-documents are data for a command we skip; they must not read as assignments."""
        text, size = self.text, len(self.text)
        for delimiter, strip_tabs in self.heredocs:
            while self.pos < size:
                end = text.find("\n", self.pos)
                end = size if end < 0 else end
                line = text[self.pos : end]
                self.pos = min(end + 1, size)
                self.line += 1
                if (line.lstrip("\t") if strip_tabs else line).rstrip("\r") == delimiter:
                    break
        self.heredocs.clear()


def _shown(token: Word | str) -> str:
    """How a skipped line is named in the warning: its first word, never a value (it may be a secret)."""
    if isinstance(token, str):
        return token
    equals = token.text.find("=", 0, token.plain)
    if equals > 0 and NAME.match(token.text, 0, equals):
        return f"{token.text[:equals]}=…"
    return token.text[:40].replace("\n", " ")


def _assignments(command: Command) -> list[tuple[str, str]] | None:
    """The assignments of a plain assignment command, or None if it is anything else."""
    words = [t for t in command.tokens if isinstance(t, Word)]
    if len(words) != len(command.tokens):
        return None  # an operator: a pipeline, a redirection, a subshell, a background job
    exported = bool(words) and words[0].is_reserved_form and words[0].text == "export"
    rest = words[1:] if exported else words
    if not rest:
        return None
    found: list[tuple[str, str]] = []
    for word in rest:
        pair = word.assignment()
        if pair is not None:
            found.append(pair)
        elif not (exported and word.is_reserved_form and NAME.match(word.text)):
            return None  # (`export NAME` alone exports an existing variable: nothing to read)
    return found


class _Depth:
    """How deep inside compound commands (if…fi, loops, case, functions, { … }) we are."""

    def __init__(self) -> None:
        self.level = 0

    def follow(self, command: Command) -> None:
        expect_command = True
        previous: Word | str | None = None
        for token in command.tokens:
            if isinstance(token, str):
                expect_command = token in _COMMAND_FOLLOWS_OPS or token == "("
            elif token.is_reserved_form and (expect_command or (token.text == "{" and previous == ")")):
                word = token.text
                if word in _OPENERS:
                    self.level += 1
                    expect_command = word in _CONDITION_OPENERS
                elif word in _CLOSERS:
                    self.level = max(0, self.level - 1)
                    expect_command = False
                else:
                    expect_command = word in _COMMAND_FOLLOWS
            elif token.is_reserved_form and token.text == "{" and _is_function_keyword(command):
                self.level += 1
                expect_command = True
            else:
                expect_command = False
            previous = token


def _is_function_keyword(command: Command) -> bool:
    first = command.tokens[0] if command.tokens else None
    return isinstance(first, Word) and first.is_reserved_form and first.text == "function"


def read_config_text(text: str, source: str = "config.sh") -> Parsed:
    """The top-level plain assignments of a shell file, and the lines skipped (line, first word)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    values: dict[str, str] = {}
    skipped: list[tuple[int, str]] = []
    depth = _Depth()
    for command in _Lexer(text, source).commands():
        if not command.tokens:
            continue
        found = _assignments(command) if depth.level == 0 else None
        if found is None:
            if not skipped or skipped[-1][0] != command.line:
                skipped.append((command.line, _shown(command.tokens[0])))
            depth.follow(command)
            continue
        values.update(found)
    return Parsed(values, skipped)
