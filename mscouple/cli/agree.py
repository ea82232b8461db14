"""Every rank runs the same command on the same case (MPMD launches are checked).

An MPMD launch (``mpirun -n 2 mscouple run a.toml : -n 2 mscouple run b.toml``) gives each
block its own command line. Blocks that disagree would hang (one block ``run``, the other
``check``: they meet in different collectives) or silently mix two cases. Right after MPI
is initialised, :func:`agree_across_ranks` compares, over the world communicator, the
subcommand first, then a fingerprint of the case file's bytes (SHA-256), the ``--set``
overrides, and ``--output``/``--restart``/``--overwrite``. A mismatch is one line from
rank 0 naming the ranks of each variant, and exit code 2 on every rank; nothing has been
computed or written.
"""
from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["agree_across_ranks", "case_fingerprint_bytes"]


def case_fingerprint_bytes(path: str) -> str:
    """SHA-256 of the file at *path* (or a marker of why it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError as exc:
        return f"unreadable ({exc.strerror})"


def _spans(ranks: list[int]) -> str:
    out, start = [], ranks[0]
    for a, b in zip(ranks, ranks[1:] + [None]):
        if b != a + 1:
            out.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return "ranks " + ",".join(out) if len(ranks) > 1 else f"rank {ranks[0]}"


def _variants(values: list[Any]) -> list[tuple[Any, list[int]]]:
    groups: dict[str, tuple[Any, list[int]]] = {}
    for r, v in enumerate(values):
        groups.setdefault(repr(v), (v, []))[1].append(r)
    return list(groups.values())


def agree_across_ranks(world: Any, args: Any) -> None:
    """Refuse (``SystemExit(2)`` on every rank, one line from rank 0) a launch whose ranks
    were given different commands, case files or run options. Collective over *world*."""
    if world.Get_size() == 1:
        return
    import sys

    command = getattr(args, "command", None)
    case = getattr(args, "case", None)
    mine = {
        "command": command,
        "case": case_fingerprint_bytes(case) if case and command in ("run", "check") else None,
        "case_path": case,
        "set": list(getattr(args, "set", []) or []),
        "output": getattr(args, "output", None),
        "restart": getattr(args, "restart", None),
        "overwrite": bool(getattr(args, "overwrite", False)),
    }
    rows = world.allgather(mine)
    message = None
    for key, what, fix in (
            ("command", "different commands", "give every block the same subcommand"),
            ("case", "different case files", "give every block the same case file"),
            ("set", "different --set overrides", "give every block the same --set options"),
            ("output", "different --output folders", "give every block the same --output"),
            ("restart", "different --restart checkpoints", "give every block the same --restart"),
            ("overwrite", "--overwrite on some blocks only", "give every block the same options")):
        groups = _variants([row[key] for row in rows])
        if len(groups) > 1:
            def show(v):
                if key == "case":
                    path = rows[[row[key] for row in rows].index(v)]["case_path"]
                    return f"{path} (sha256 {v[:12]})" if v else "-"
                return " ".join(v) if isinstance(v, list) else str(v)
            parts = "; ".join(f"{_spans(rs)}: {show(v)}" for v, rs in groups)
            message = f"error: MPMD launch with {what} ({parts}): {fix}"
            break
    if message is not None:
        if world.Get_rank() == 0:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        raise SystemExit(2)
