"""``--set key=value``: change a case's TOML table before it is validated.

An override names a dotted key path into the case file (``run.steps``,
``patches.core.temperature``, ``layout.patches.chain``) and a value written as a TOML
literal (``200``, ``0.05``, ``"metal"``, ``[1.0, 2.0]``, ``{ kind = "lj" }``, ``true``).
A value that does not parse as TOML is taken as a plain string (``units=metal``).
Overrides are applied to the parsed table, in order (a later one wins), and the result is
validated like any case file, so a misspelt key gets the schema's usual one-line error
with the nearest valid key.

Used by ``mscouple run|check --set`` (short runs in tests, one-off changes) and usable by
any driver that edits cases (studies).
"""
from __future__ import annotations

import re
import tomllib
from typing import Any, Iterable

from .errors import ConfigError

Override = tuple[str, Any]

_KEY_PART = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_override(item: str) -> Override:
    """``"key.path=value"`` → ``("key.path", value)``, the value parsed as a TOML literal.

    Raises ``ConfigError`` (one line, saying what to write) when there is no ``=`` or the
    key path is not a dotted list of bare TOML keys.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected key=value with a dotted key path "
                          f"into the case file (e.g. --set run.steps=200)")
    parts = key.split(".")
    bad = [p for p in parts if not _KEY_PART.match(p)]
    if bad:
        raise ConfigError(f"--set {item!r}: {key!r} is not a dotted key path (letters, digits, "
                          f"'_' and '-' between dots, e.g. patches.core.temperature)")
    return key, _literal(raw.strip())


def _literal(raw: str) -> Any:
    """The TOML value written in *raw*, or *raw* itself as a string if it is not TOML."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_overrides(table: dict, overrides: Iterable[Override], source: str = "<case>") -> dict:
    """Set each ``(dotted key, value)`` in the case *table* (modified in place and returned).

    Missing intermediate tables are created (the schema then says what a new section lacks);
    a path through a value that is not a table is refused, naming the key and its value.
    """
    for key, value in overrides:
        cur = table
        parts = key.split(".")
        for i, k in enumerate(parts[:-1]):
            nxt = cur.setdefault(k, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"{source}: --set {key}: {where} = {nxt!r} is not a table; "
                                  f"set {where} itself or a key of a table")
            cur = nxt
        cur[parts[-1]] = value
    return table


def describe(items: Iterable[str]) -> str:
    """The ``--set`` items as a TOML comment line (kept at the top of the effective case text)."""
    items = [i.strip().replace("\n", "\\n") for i in items]
    return "# with --set " + " --set ".join(items) + "\n" if items else ""
