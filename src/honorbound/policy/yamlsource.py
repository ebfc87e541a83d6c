"""YAML that remembers where things were: every value keeps the line it was written on.

We compose the node tree with PyYAML's safe loader, then build plain Python values and a
map from the path of every value (`("categories", 2, "key")`) to its 1-based line, so a
problem found later in the pydantic model can be reported as `FILE:LINE`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from honorbound.policy.problems import DeclarationError, Problem

Path = tuple[str | int, ...]


@dataclass
class LineMap:
    """Line of every path in one source file; unknown paths fall back to their nearest parent.

    `files` names another file for paths that came from it (a rules override merged over the
    shipped rules), so a problem points at the file the value was written in.
    """

    file: str
    lines: dict[Path, int] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> tuple[str, int]:
        key = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.files.get(key, self.file), self.lines.get(key, 1)

    def line(self, path: Sequence[str | int]) -> int:
        return self.locate(path)[1]

    def has(self, path: Sequence[str | int]) -> bool:
        return tuple(path) in self.lines

    def merge(self, other: LineMap) -> None:
        """Take `other`'s lines (and its file name) for every path it defines."""
        for path, line in other.lines.items():
            if path == ():
                continue
            self.lines[path] = line
            self.files[path] = other.file

    def problem(self, path: Sequence[str | int], message: str, severity: str = "error") -> Problem:
        file, line = self.locate(path)
        return Problem(file, line, message, "warning" if severity == "warning" else "error")


# Every parse is bounded in size, shape and time, whatever the file: a declaration, a dataset
# map or a rules override may come from a caller we do not trust (the API), and a few hundred
# bytes of YAML aliases ("billion laughs") expand to billions of values. Without aliases the
# work is linear in the size: the shipped rules (70 kB) take under a second, the largest file
# accepted about 12 s on a quiet 2-core machine; the time cap is a backstop for a machine
# under load, wide enough not to fail a real file there.
MAX_CHARS = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_SECONDS = 60.0


class _Loader(yaml.SafeLoader):
    """Safe loader; dates stay dates, everything else as YAML 1.1 safe types. Aliases
    (`*name`, and so `<<: *name` merges) are refused, and the node count, nesting depth and
    time of one parse are capped."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0
        self._deadline = time.monotonic() + MAX_SECONDS

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed here; write the value out", mark
            )
        self._nodes += 1
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"the file has more than {MAX_NODES:,} values", mark
            )
        if time.monotonic() > self._deadline:
            raise yaml.composer.ComposerError(
                None, None, f"reading the file took longer than {MAX_SECONDS:g} s", mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"values are nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct(loader: _Loader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool | float | dt.date) or key is None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            key_str = str(key) if not isinstance(key, str) else key
            child: Path = (*path, key_str)
            if key_str in result:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key_str!r} appears twice in this mapping",
                    key_node.start_mark,
                )
            result[key_str] = _construct(loader, value_node, child, lines)
            # Point errors about a key at the key itself, not at its (possibly nested) value.
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, file: str) -> tuple[Any, LineMap]:
    """Parse one YAML document; raise `DeclarationError` with the line of a syntax error."""
    lines: dict[Path, int] = {}
    if len(text) > MAX_CHARS:
        raise DeclarationError(
            [Problem(file, 1, f"the file is larger than {MAX_CHARS:,} characters; split it")]
        )
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # a control character or bad encoding, found at once
        raise DeclarationError([_reader_problem(text, file, exc)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise DeclarationError([Problem(file, 1, "the file is empty; start with `schema:`")])
        data = _construct(loader, node, (), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or str(exc)
        raise DeclarationError(
            [
                Problem(
                    file, line, f"this is not valid YAML ({reason}); check indentation and quotes"
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        raise DeclarationError([_reader_problem(text, file, exc)]) from None
    finally:
        loader.dispose()
    return data, LineMap(file, lines)


def _reader_problem(text: str, file: str, exc: yaml.YAMLError) -> Problem:
    """A character YAML does not allow (a control character, say), at its line."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        char = exc.character
        code = f"U+{ord(char):04X}" if isinstance(char, str) else f"byte {char!r}"
        return Problem(
            file,
            line,
            f"this is not valid YAML: character {code} is not allowed (control characters "
            "other than tab and newline cannot appear in YAML)",
        )
    return Problem(file, 1, "this is not valid YAML; check indentation and quotes")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` when a close choice exists, else an empty string."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""
