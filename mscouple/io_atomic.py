"""Former home of the atomic small-file write; kept as an import of :mod:`mscouple.io.commit`.

New code imports :func:`mscouple.io.commit.commit_text` directly.
"""
from __future__ import annotations

import os

from .io.commit import commit_text

__all__ = ["atomic_write_text"]


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write *text* to *path* atomically (see :func:`mscouple.io.commit.commit_text`)."""
    commit_text(path, text)
