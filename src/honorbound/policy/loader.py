"""Read a declaration file into a `Declaration`, reporting every shape problem as `FILE:LINE`."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.schema import SCHEMA_ID, Declaration
from honorbound.policy.yamlsource import LineMap, did_you_mean, load_yaml


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X`, `list[X]`, `X | None`, `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (list, dict, typing.Union, types.UnionType, typing.Annotated):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one step down: a list item, a dict value, or a model field."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in get_args(annotation):
            found = _step(arg, part)
            if found is not None:
                return found
        return None
    if origin is list:
        return get_args(annotation)[0] if isinstance(part, int) else None
    if origin is dict:
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if (info.alias or name) == part:
                return info.annotation
    return None


def model_at(root: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that describes the mapping at `path`, if the path leads to one."""
    annotation: Any = root
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return _model_in(annotation)


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The longest prefix of a pydantic `loc` that exists in the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            break
        node = node[part]
        path.append(part)
    return tuple(path)


def _where(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the top level"


def translate_errors(
    exc: ValidationError, data: Any, lines: LineMap, root: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic errors into sentences at the line of the offending field."""
    problems: list[Problem] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        path = _data_path(data, loc)
        if kind == "missing":
            parent = path
            missing = loc[len(path)]
            message = f"{_where(parent)} needs '{missing}'; add it"
            key = (parent, f"missing:{missing}")
        elif kind == "extra_forbidden":
            known = _field_names(model_at(root, path[:-1]) or root)
            name = str(path[-1])
            message = (
                f"unknown field '{name}' in {_where(path[:-1])}"
                f"{did_you_mean(name, known) or '; remove it'}"
            )
            key = (path, "extra")
        else:
            message = _value_message(error, path)
            key = (path, "value")
        if key in seen:
            continue
        seen.add(key)
        problems.append(lines.problem(path, message))
    return problems


def _value_message(error: Any, path: tuple[str | int, ...]) -> str:
    field = _where(path)
    kind = error["type"]
    value = error.get("input")
    if (
        kind in ("literal_error", "list_type")
        and path
        and path[-1]
        in (
            "categories",
            "subjects",
        )
    ):
        return f"{field} must be `all` or a list; write `all` or `[key, ...]`"
    if kind == "enum":
        expected = re.findall(r"'([^']+)'", str(error.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(str(value), expected)
        return f"{field}: {value!r} is not one of {', '.join(expected)}{hint}"
    msg = str(error["msg"])
    msg = msg.removeprefix("Value error, ")
    return f"{field}: {msg[0].lower() + msg[1:] if msg else msg}"


def parse_declaration(text: str, file: str = "<declaration>") -> tuple[Declaration, LineMap]:
    """Parse and validate the shape; raise `DeclarationError` listing every problem."""
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        raise DeclarationError(
            [Problem(file, 1, "a declaration is a YAML mapping that starts with `schema:`")]
        )
    schema = data.get("schema")
    if schema is not None and schema != SCHEMA_ID:
        raise DeclarationError(
            [
                lines.problem(
                    ("schema",),
                    f"schema {schema!r} is not supported; write `schema: {SCHEMA_ID}`",
                )
            ]
        )
    try:
        declaration = Declaration.model_validate(data)
    except ValidationError as exc:
        raise DeclarationError(translate_errors(exc, data, lines, Declaration)) from exc
    return declaration, lines


def load_declaration(path: str | Path) -> Declaration:
    """Read and validate the shape of a declaration file (use `check` for the full check)."""
    path = Path(path)
    declaration, _ = parse_declaration(path.read_text(encoding="utf-8"), str(path))
    return declaration
