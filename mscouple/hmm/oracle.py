"""The HMM oracle: batched requests "answer at this state", a cache, and a task farm.

Macro solvers (continuum) call ``oracle.evaluate(states [m, k]) -> answers [m, p]`` once
per step (or Newton iteration) with all their quadrature-point states in one batch.

- :class:`LocalOracle` evaluates on the calling rank (no MPI).
- :class:`FarmClient` / :class:`FarmServer`: a task farm over an intercommunicator between
  the macro (client) group and the oracle (worker) group, e.g. the continuum comm and a
  patch comm from :class:`mscouple.layout.Layout`, or ``Split`` + ``Create_intercomm``.
  ``FarmClient.evaluate`` is collective over the client group (every client rank calls it,
  possibly with zero states); the worker ranks sit in ``FarmServer.serve()`` until a client
  calls ``close()`` (also collective over the clients).

One batch, in order (no collective over COMM_WORLD; two intercomm all-to-alls)::

    client: cache lookup -> de-duplicate misses within tol -> split the misses into
            contiguous chunks, one per worker (rotated by client rank so small batches
            spread) -> inter.alltoall(chunks)
    worker: evaluate every received chunk with the micro model -> inter.alltoall(answers)
    client: store new answers in its cache -> fill the batch

Each worker rank evaluates its chunks serially (a micro cell is small); a model needing
several ranks per cell would run on a worker-group sub-communicator (not needed yet).
A micro model that raises on a worker is reported to every client, which raise
:class:`SimulationError` together (nobody hangs); the workers keep serving. Caches are per
client rank. Messages are pickled NumPy arrays (batches are small: a few
numbers per quadrature point).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, SimulationError
from .cache import StateCache, unique_within

_STOP = "stop"
_EVAL = "eval"
_OK = "ok"
_ERROR = "error"


class _CachedOracle:
    def __init__(self, state_size: int, answer_size: int, tol: float):
        self.state_size, self.answer_size = int(state_size), int(answer_size)
        self.cache = StateCache(self.state_size, self.answer_size, tol)
        self.n_requests = 0
        self.n_computed = 0

    def _prepare(self, states) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        s = np.asarray(states, dtype=float).reshape(-1, self.state_size)
        if not np.all(np.isfinite(s)):
            raise ConfigError("oracle states must be finite (a macro solver diverged?)")
        self.n_requests += len(s)
        found, out = self.cache.lookup(s)
        miss = np.flatnonzero(~found)
        reps, index = unique_within(s[miss], self.cache.tol)
        return s, out, miss, reps, index

    def _finish(self, out, miss, reps, index, answers) -> np.ndarray:
        answers = np.asarray(answers, dtype=float).reshape(-1, self.answer_size)
        if len(reps):
            self.cache.store(reps, answers)
            out[miss] = answers[index]
        self.n_computed += len(reps)
        return out

    def stats(self) -> dict[str, int]:
        return {"requests": self.n_requests, "computed": self.n_computed,
                "cache_hits": self.cache.hits, "cached_states": len(self.cache)}


class LocalOracle(_CachedOracle):
    """Serial oracle: ``evaluate(states [m, k]) -> [m, p]`` with a tolerance cache."""

    def __init__(self, model: Callable[[np.ndarray], np.ndarray], tol: float = 0.0):
        super().__init__(model.state_size, model.answer_size, tol)
        self.model = model

    def evaluate(self, states) -> np.ndarray:
        s, out, miss, reps, index = self._prepare(states)
        ans = self.model(reps) if len(reps) else np.zeros((0, self.answer_size))
        return self._finish(out, miss, reps, index, ans)


class FarmClient(_CachedOracle):
    """Macro side of the task farm (collective over the client group of ``inter``).

    Parameters
    ----------
    inter : intercommunicator whose remote group are the workers.
    state_size, answer_size : shape of a request and of an answer.
    tol : cache tolerance on the state (max-norm).
    """

    def __init__(self, inter: Any, state_size: int, answer_size: int, tol: float = 0.0):
        if not inter.Is_inter():
            raise ConfigError("FarmClient needs an intercommunicator (Create_intercomm)")
        super().__init__(state_size, answer_size, tol)
        self.inter = inter
        self.n_workers = inter.Get_remote_size()
        self._closed = False

    def evaluate(self, states) -> np.ndarray:
        """Answers ``[m, p]`` for this rank's ``states [m, k]`` (collective over clients)."""
        if self._closed:
            raise ConfigError("this oracle farm was closed")
        s, out, miss, reps, index = self._prepare(states)
        W = self.n_workers
        chunks = np.array_split(reps, W)
        shift = self.inter.Get_rank() % W
        chunks = chunks[-shift:] + chunks[:-shift] if shift else chunks
        self.inter.alltoall([(_EVAL, c) for c in chunks])
        back = self.inter.alltoall([None] * W)
        errors = [b[1] for b in back if b[0] == _ERROR]
        if errors:  # every client receives from every worker: all clients raise together
            raise SimulationError(f"oracle worker failed: {errors[0]}")
        back = [b[1] for b in back]
        if shift:
            back = back[shift:] + back[:shift]
        ans = np.concatenate([np.asarray(b, dtype=float).reshape(-1, self.answer_size) for b in back]) \
            if len(reps) else np.zeros((0, self.answer_size))
        return self._finish(out, miss, reps, index, ans)

    def close(self) -> None:
        """Release the workers (collective over the client group)."""
        if not self._closed:
            self.inter.alltoall([(_STOP, None)] * self.n_workers)
            self._closed = True


class FarmServer:
    """Worker side: answers batches with ``model`` until the clients close the farm."""

    def __init__(self, inter: Any, model: Callable[[np.ndarray], np.ndarray]):
        if not inter.Is_inter():
            raise ConfigError("FarmServer needs an intercommunicator (Create_intercomm)")
        self.inter, self.model = inter, model
        self.n_clients = inter.Get_remote_size()
        self.n_evaluated = 0
        self.n_batches = 0

    def serve(self) -> int:
        """Loop until stopped; returns the number of states this worker evaluated."""
        while True:
            msgs = self.inter.alltoall([None] * self.n_clients)
            if any(m[0] == _STOP for m in msgs):
                return self.n_evaluated
            replies = []
            for _, chunk in msgs:
                chunk = np.asarray(chunk, dtype=float).reshape(-1, self.model.state_size)
                try:
                    ans = np.asarray(self.model(chunk), dtype=float) if len(chunk) \
                        else np.zeros((0, self.model.answer_size))
                    replies.append((_OK, ans))
                except Exception as exc:  # noqa: BLE001 - reported to every client, which raises
                    replies.append((_ERROR, f"{type(exc).__name__}: {exc}"))
                self.n_evaluated += len(chunk)
            self.n_batches += 1
            self.inter.alltoall(replies)
