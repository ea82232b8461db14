"""Mandel-notation helpers re-exported for :mod:`mscouple.hmm` (avoids a package cycle)."""
from ..homogenization.bounds import from_mandel, to_mandel  # noqa: F401
