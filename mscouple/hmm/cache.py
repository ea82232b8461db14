"""Answers of an expensive oracle, reused for states within a tolerance.

A state s is answered from the cache when a stored state c has ``max_k |s_k - c_k| <= tol``
(component-wise, in the state's units: strain, temperature gradient ...); the stored answer
is returned unchanged (zeroth-order reuse; the error is at most ``tol`` times the local
tangent). ``tol = 0`` caches exact repeats only.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError


class StateCache:
    """Cache of ``states [n, k] -> answers [n, p]`` with a max-norm tolerance."""

    def __init__(self, state_size: int, answer_size: int, tol: float = 0.0):
        if tol < 0:
            raise ConfigError(f"cache tolerance {tol} must be >= 0")
        self.k, self.p, self.tol = int(state_size), int(answer_size), float(tol)
        self._s = np.zeros((0, self.k))
        self._a = np.zeros((0, self.p))
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._s)

    def lookup(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(``found [m]`` bool, ``answers [m, p]``; rows not found are NaN)."""
        states = np.asarray(states, dtype=float).reshape(-1, self.k)
        out = np.full((len(states), self.p), np.nan)
        found = np.zeros(len(states), dtype=bool)
        if len(self._s) and len(states):
            # chunk to bound memory: [chunk, n_cache]
            for lo in range(0, len(states), 256):
                d = np.abs(states[lo:lo + 256, None, :] - self._s[None]).max(axis=2)
                j = d.argmin(axis=1)
                ok = d[np.arange(len(j)), j] <= self.tol
                found[lo:lo + 256] = ok
                out[lo:lo + 256][ok] = self._a[j[ok]]
        self.hits += int(found.sum())
        self.misses += int((~found).sum())
        return found, out

    def store(self, states: np.ndarray, answers: np.ndarray) -> None:
        self._s = np.vstack([self._s, np.asarray(states, dtype=float).reshape(-1, self.k)])
        self._a = np.vstack([self._a, np.asarray(answers, dtype=float).reshape(-1, self.p)])


def unique_within(states: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy de-duplication: (representatives ``[u, k]``, ``index [m]`` into them) such that
    every state is within ``tol`` (max-norm) of its representative."""
    states = np.asarray(states, dtype=float)
    if len(states) == 0:
        return states, np.zeros(0, dtype=int)
    if tol == 0:
        reps, inv = np.unique(states, axis=0, return_inverse=True)
        return reps, inv.reshape(-1)
    reps: list[np.ndarray] = []
    index = np.empty(len(states), dtype=int)
    R = np.zeros((0, states.shape[1]))
    for i, s in enumerate(states):
        if len(R):
            d = np.abs(R - s).max(axis=1)
            j = int(d.argmin())
            if d[j] <= tol:
                index[i] = j
                continue
        reps.append(s)
        R = np.vstack([R, s])
        index[i] = len(R) - 1
    return R, index
