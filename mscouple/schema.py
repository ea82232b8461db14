"""A small declarative validator turning TOML tables into frozen dataclasses.

Each case section is a frozen dataclass whose fields carry an ``Option`` in their
metadata (type, constraint, help). ``build(cls, table, path)`` checks unknown keys (with a
"did you mean" suggestion), missing required keys, types (ints promote to floats) and
constraints, and raises one ``ConfigError`` whose message names the file, the key path, the
value and what was expected.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import MISSING
from typing import Any, Callable, Sequence

from .errors import ConfigError

_NUMBER = (int, float)


@dataclasses.dataclass(frozen=True)
class Option:
    kind: str  # "float", "int", "bool", "str", "strs", "floats", "ints", "table", "tables"
    expect: str = ""  # human description of the constraint
    check: Callable[[Any], bool] | None = None
    choices: Sequence[str] | None = None
    section: type | None = None  # nested dataclass for "table"/"tables"


def opt(kind: str, default: Any = MISSING, *, expect: str = "", check=None, choices=None,
        section: type | None = None, help: str = "") -> Any:
    """Declare a case-file option as a dataclass field."""
    md = {"option": Option(kind, expect, check, choices, section), "help": help}
    if default is MISSING:
        return dataclasses.field(metadata=md)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=md)
    return dataclasses.field(default=default, metadata=md)


def positive(x) -> bool:
    return x > 0


def nonnegative(x) -> bool:
    return x >= 0


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_fmt(v)}" for k, v in value.items()) + "}"
    return repr(value) if not isinstance(value, float) else f"{value:g}"


class Context:
    """Where a value came from: the file name and the dotted key path."""

    def __init__(self, filename: str):
        self.filename = filename

    def error(self, path: str, value: Any, expected: str) -> ConfigError:
        if value is MISSING:
            return ConfigError(f"{self.filename}: missing required key '{path}' ({expected})")
        return ConfigError(f"{self.filename}: {path} = {_fmt(value)}: expected {expected}")


def _coerce(ctx: Context, path: str, value: Any, o: Option) -> Any:
    k = o.kind
    if k == "float":
        if isinstance(value, bool) or not isinstance(value, _NUMBER) or not math.isfinite(value):
            raise ctx.error(path, value, o.expect or "a finite number")
        value = float(value)
    elif k == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(path, value, o.expect or "an integer")
    elif k == "bool":
        if not isinstance(value, bool):
            raise ctx.error(path, value, "true or false")
    elif k == "str":
        if not isinstance(value, str):
            raise ctx.error(path, value, o.expect or "a string")
        if o.choices is not None and value not in o.choices:
            near = difflib.get_close_matches(value, o.choices, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ctx.error(path, value, f"one of {', '.join(map(repr, o.choices))}{hint}")
    elif k in ("floats", "ints"):
        want = float if k == "floats" else int
        if not isinstance(value, list) or not all(
            isinstance(v, _NUMBER) and not isinstance(v, bool) and (want is float or isinstance(v, int))
            and math.isfinite(v)
            for v in value
        ):
            raise ctx.error(path, value, o.expect or f"a list of {'numbers' if want is float else 'integers'}")
        value = tuple(want(v) for v in value)
    elif k == "strs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ctx.error(path, value, o.expect or "a list of names")
        value = tuple(value)
    elif k == "table_int":
        if not isinstance(value, dict):
            raise ctx.error(path, value, "a table { name = integer }")
        value = dict(value)
    elif k == "table":
        if not isinstance(value, dict):
            raise ctx.error(path, value, f"a table [{path}]")
        return build(o.section, value, ctx, path)
    elif k == "tables":
        if isinstance(value, dict):
            # [patches.NAME] tables: the key is the name
            items = []
            for name, sub in value.items():
                if not isinstance(sub, dict):
                    raise ctx.error(f"{path}.{name}", sub, f"a table [{path}.{name}]")
                sub = dict(sub)
                sub.setdefault("name", name)
                items.append(build(o.section, sub, ctx, f"{path}.{name}"))
            value = tuple(items)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            value = tuple(build(o.section, v, ctx, f"{path}[{i}]") for i, v in enumerate(value))
        else:
            raise ctx.error(path, value, f"an array of tables [[{path}]]")
        return value
    if o.check is not None and not o.check(value):
        raise ctx.error(path, value, o.expect or "a valid value")
    return value


def build(cls: type, table: dict, ctx: Context, path: str = "") -> Any:
    """Validate *table* against dataclass *cls*; return the frozen instance."""
    fields = {f.name: f for f in dataclasses.fields(cls) if "option" in f.metadata}
    prefix = f"{path}." if path else ""
    for key in table:
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f"did you mean '{prefix}{near[0]}'?" if near else f"valid keys: {', '.join(sorted(fields))}"
            raise ConfigError(f"{ctx.filename}: unknown key '{prefix}{key}' ({hint})")
    kwargs = {}
    for name, f in fields.items():
        o: Option = f.metadata["option"]
        if name in table:
            kwargs[name] = _coerce(ctx, prefix + name, table[name], o)
        elif f.default is MISSING and f.default_factory is MISSING:
            if o.kind in ("table", "tables"):
                raise ConfigError(f"{ctx.filename}: missing required section [{prefix + name}]"
                                  + (f" ({f.metadata['help']})" if f.metadata.get("help") else ""))
            what = f.metadata.get("help") or o.expect or o.kind
            raise ctx.error(prefix + name, MISSING, what)
    return cls(**kwargs)
