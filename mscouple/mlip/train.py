"""Fit an NNP to energies, forces and virials (SciPy L-BFGS on analytic NumPy gradients).

PyTorch and JAX are not installed here; the loss gradient is exact and hand-derived instead
(:mod:`mscouple.mlip.network` for the networks' double back-propagation, the linear maps of
:mod:`mscouple.mlip.features` for forces and virials), and checked against finite differences
in ``tests/mlip/test_train.py``. Inference never depends on the trainer.

Loss (units: eV, Å), over training frames f with N_f atoms:

    L = c_E <w_f ((E_f − E_f^ref)/N_f)²> + c_F <|F − F^ref|²>/3 + c_W <((W_f − W_f^ref)/N_f)²>/6
        + λ |θ|²,     c_X = 1/σ_X²

(σ_E in eV/atom, σ_F in eV/Å, σ_W in eV/atom; w_f = ``Frame.energy_weight``, 1 by default; the virial term only for frames periodic in
3D; the force term over a random ``force_fraction`` of each training frame's atoms). Optimisation: L-BFGS in chunks of ``chunk`` iterations; after each chunk the validation
loss is evaluated, the best parameters are kept, and training stops after ``patience``
chunks without improvement (early stopping) or at ``max_iter`` iterations.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from .descriptors import default_table
from .features import frame_features
from .model import NNPModel, load_model
from .network import evaluate, init_params, n_params, param_grad


@dataclass
class TrainSettings:
    """Hyper-parameters (lengths Å, energies eV)."""

    cutoff: float = 5.2
    n_radial: int = 8
    hidden: tuple = (20, 20)
    activation: str = "tanh"
    sigma_e: float = 0.002
    sigma_f: float = 0.05
    sigma_w: float = 0.01
    l2: float = 1e-6
    chunk: int = 100
    max_iter: int = 3000
    patience: int = 4
    force_fraction: float = 0.25
    seed: int = 11
    sf: list = field(default_factory=list)
    init: str = ""  # warm start: a model file whose descriptors, normalisation and weights are kept


_VOIGT = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def frame_map(q, natoms: int, keep: np.ndarray) -> sp.csr_matrix:
    """Sparse M [3 n_keep + 6, N nsf] of one frame: (forces of the atoms ``keep``, virial)
    = M @ y (y = ∂E/∂G flattened atom-major), from its :class:`~.features.FrameFeatures` q
    (see the module doc)."""
    P, nsf = q.dG.shape[:2]
    D = sp.csr_matrix((q.dG.transpose(0, 2, 1).ravel(),
                       (np.repeat(np.arange(3 * P), nsf),
                        np.tile(np.arange(nsf), 3 * P) + np.repeat(q.centre, 3 * nsf) * nsf)),
                      shape=(3 * P, natoms * nsf))
    pidx = np.arange(P)
    A = (sp.csr_matrix((np.ones(P), (q.centre, pidx)), shape=(natoms, P))
         - sp.csr_matrix((np.ones(P), (q.neigh, pidx)), shape=(natoms, P)))
    rows, cols, vals = [], [], []
    for c, (a, b) in enumerate(_VOIGT):  # W_ab = -sym(sum_p r_a g_b)
        for (u, v) in ((a, b), (b, a)):
            rows.append(np.full(P, c))
            cols.append(3 * pidx + v)
            vals.append(-0.5 * q.rvec[:, u])
    V = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(6, 3 * P))
    A = A.tocsr()[keep]
    return sp.vstack([sp.kron(A, sp.identity(3), format="csr") @ D, V @ D]).tocsr()


class Batch:
    """Training arrays of a list of frames: descriptors G [N, nsf], types, labels, and the
    block-diagonal linear map M (forces and virials of every frame from y = ∂E/∂G).

    ``force_fraction`` < 1 fits the forces of a random subset of each frame's atoms (drawn
    with ``seed``): forces are many and redundant, and M's size is proportional to them.
    """

    def __init__(self, frames: list, sf: np.ndarray, rc: float, force_fraction: float = 1.0,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        nat = np.array([f.natoms for f in frames])
        self.natoms, self.nframes = nat, len(frames)
        G, blocks, keeps = [], [], []
        for f in frames:
            q = frame_features(f, sf, rc)
            G.append(q.G)
            nk = max(1, int(round(force_fraction * f.natoms)))
            keep = np.sort(rng.choice(f.natoms, nk, replace=False)) if nk < f.natoms else np.arange(f.natoms)
            keeps.append(keep)
            blocks.append(frame_map(q, f.natoms, keep))
            del q
        self.G = np.concatenate(G)
        self.M = sp.block_diag(blocks, format="csr")
        self.MT = self.M.T.tocsr()
        self.types = np.concatenate([np.asarray(f.types, int) for f in frames])
        N = int(nat.sum())
        fr_of_atom = np.repeat(np.arange(self.nframes), nat)
        self.frame_atoms = sp.csr_matrix((np.ones(N), (fr_of_atom, np.arange(N))),
                                         shape=(self.nframes, N))
        # rows of M: per frame 3 n_keep forces then 6 virial components
        nk = np.array([len(k) for k in keeps])
        off = np.concatenate([[0], np.cumsum(3 * nk + 6)])
        self.f_rows = np.concatenate([np.arange(off[k], off[k] + 3 * nk[k]) for k in range(self.nframes)])
        self.w_rows = np.concatenate([np.arange(off[k] + 3 * nk[k], off[k + 1]) for k in range(self.nframes)])
        self.E = np.array([f.energy for f in frames])
        self.wE = np.array([float(f.energy_weight) for f in frames])  # weights of the energy term
        self.F = np.concatenate([f.forces[k] for f, k in zip(frames, keeps)])
        self.has_w = np.array([f.virial is not None for f in frames])
        self.W = np.array([f.virial if f.virial is not None else np.zeros(6) for f in frames])


class Objective:
    """Loss and gradient over a :class:`Batch` for flat parameters θ = [weights (ne ×
    nparam), e0 (ne)]."""

    def __init__(self, batch: Batch, layers, activation: str, ne: int, g_shift, g_scale,
                 s: TrainSettings) -> None:
        self.b, self.layers, self.act, self.ne = batch, list(layers), activation, ne
        self.np = n_params(layers)
        self.Gn = (batch.G - g_shift) / g_scale
        self.g_scale = g_scale
        self.s = s

    def predict(self, theta: np.ndarray):
        """(frame energies [nF], forces [N,3], virials [nF,6], network caches)."""
        b, ne = self.b, self.ne
        w = theta[:ne * self.np].reshape(ne, self.np)
        e0 = theta[ne * self.np:]
        Eat = np.zeros(len(b.types))
        Y = np.zeros_like(self.Gn)
        caches = []
        for t in range(ne):
            m = b.types == t
            e, y, c = evaluate(w[t], self.layers, self.act, self.Gn[m])
            Eat[m] = e + e0[t]
            Y[m] = y
            caches.append((m, c))
        out = b.M @ (Y / self.g_scale).ravel()
        F = out[b.f_rows].reshape(-1, 3)
        Wm = out[b.w_rows].reshape(-1, 6)
        return b.frame_atoms @ Eat, F, Wm, caches

    def loss_grad(self, theta: np.ndarray):
        b, s, ne = self.b, self.s, self.ne
        Ef, F, Wm, caches = self.predict(theta)
        nat = b.natoms
        cE, cF, cW = 1 / s.sigma_e ** 2, 1 / s.sigma_f ** 2, 1 / s.sigma_w ** 2
        rE = (Ef - b.E) / nat
        rF = F - b.F
        rW = np.where(b.has_w[:, None], (Wm - b.W) / nat[:, None], 0.0)
        nW = max(int(b.has_w.sum()), 1)
        L = (cE * np.mean(b.wE * rE ** 2) + cF * np.sum(rF ** 2) / (3 * len(rF))
             + cW * np.sum(rW ** 2) / (6 * nW))
        Ebar = 2 * cE * b.wE * rE / nat / b.nframes
        outbar = np.zeros(b.M.shape[0])
        outbar[b.f_rows] = (2 * cF * rF / (3 * len(rF))).ravel()
        outbar[b.w_rows] = (2 * cW * rW / nat[:, None] / (6 * nW)).ravel()
        ybar = (b.MT @ outbar).reshape(-1, len(self.g_scale)) / self.g_scale
        e_adj = b.frame_atoms.T @ Ebar
        grad = np.zeros_like(theta)
        w = theta[:ne * self.np].reshape(ne, self.np)
        for t, (m, c) in enumerate(caches):
            grad[t * self.np:(t + 1) * self.np] = param_grad(c, self.layers, e_adj[m], ybar[m])
            grad[ne * self.np + t] = e_adj[m].sum()
        L += s.l2 * np.sum(w ** 2)
        grad[:ne * self.np] += 2 * s.l2 * w.ravel()
        return L, grad


def errors(model: NNPModel, frames: list, by_tag: bool = False) -> dict:
    """RMSEs of the model against the frames' labels, computed by our MD engine (the compiled
    kernel through :class:`~mscouple.atomistic.nnp.NNP`): energy meV/atom, force meV/Å,
    virial meV/atom (3D-periodic frames). ``by_tag``: the same per frame tag (``"by_tag"``:
    tag -> {energy, force RMSE, frames, atoms})."""
    from ..atomistic.box import Box
    from ..atomistic.nnp import NNP
    from .data import label

    pot = NNP(model)
    dE, dF, dW, tags = [], [], [], []
    for f in frames:
        box = Box(np.zeros(3), f.lengths, f.periodic)
        x = np.array(f.x)
        box.wrap(x)
        if not all(f.periodic):  # free directions: the MD box is only the decomposition's
            lo = np.where(f.periodic, 0.0, x.min(axis=0) - 1.0)
            hi = np.where(f.periodic, f.lengths, x.max(axis=0) + 1.0)
            box = Box(lo, hi, f.periodic)
        e, F, W = label(pot, x, box, f.types)
        dE.append((e - f.energy) / f.natoms)
        dF.append(F - f.forces)
        tags.append(f.tag)
        if f.virial is not None:
            dW.append((W - f.virial) / f.natoms)

    def summary(idx):
        return {"energy_rmse_meV_atom": 1e3 * float(np.sqrt(np.mean(np.square([dE[k] for k in idx])))),
                "force_rmse_meV_A": 1e3 * float(np.sqrt(np.mean(np.square(np.concatenate([dF[k] for k in idx]))))),
                "frames": len(idx), "atoms": int(sum(frames[k].natoms for k in idx))}

    out = summary(range(len(frames)))
    if dW:
        out["virial_rmse_meV_atom"] = 1e3 * float(np.sqrt(np.mean(np.square(dW))))
    if by_tag:
        out["by_tag"] = {t: summary([k for k in range(len(frames)) if tags[k] == t]) for t in sorted(set(tags))}
    return out


def widen(warm: NNPModel, sf: np.ndarray, layers, g_shift, g_scale, rng):
    """Embed a trained model in a larger one that computes the same energies: its symmetry
    functions must be rows of ``sf`` (the new ones get the given normalisation, the old keep
    theirs) and ``layers`` at least as wide, with the same depth. New inputs and new hidden
    units start with zero weights towards the old units and the output (the new hidden units
    get small random inputs so that they can learn). Returns (weights [ne, nparam], g_shift,
    g_scale)."""
    from .network import unpack

    old = [int(n) for n in warm.layers]
    if len(old) != len(layers) or any(n < o for n, o in zip(layers[1:], old[1:])):
        raise ConfigError(f"warm start from layers {old}: expected layers of the same depth at least as "
                          f"wide, got {list(layers)}")
    idx = []
    for r in warm.sf:
        hit = np.nonzero(np.all(np.abs(sf - r) <= 1e-12 * np.maximum(1.0, np.abs(r)), axis=1))[0]
        if len(hit) == 0:
            raise ConfigError(f"warm start: symmetry function {r.tolist()} of the initial model is not in the new set")
        idx.append(int(hit[0]))
    idx = np.array(idx)
    g_shift, g_scale = np.array(g_shift, float), np.array(g_scale, float)
    g_shift[idx], g_scale[idx] = warm.g_shift, warm.g_scale
    out = []
    for t in range(len(warm.elements)):
        Wo = unpack(warm.weights[t], old)
        parts = []
        for l in range(1, len(layers)):
            W = np.zeros((layers[l - 1], layers[l]))
            b = np.zeros(layers[l])
            rows = idx if l == 1 else np.arange(old[l - 1])
            W[np.ix_(rows, np.arange(old[l]))] = Wo[l - 1][0]
            b[:old[l]] = Wo[l - 1][1]
            if l < len(layers) - 1 and layers[l] > old[l]:  # new hidden units: random inputs
                lim = 0.5 * np.sqrt(6.0 / (layers[l - 1] + layers[l]))
                W[:, old[l]:] = rng.uniform(-lim, lim, (layers[l - 1], layers[l] - old[l]))
            parts += [W.ravel(), b]
        out.append(np.concatenate(parts))
    return np.array(out), g_shift, g_scale


def train(train_frames: list, val_frames: list, elements: list, masses, s: TrainSettings,
          log=print) -> NNPModel:
    """Fit a model (see the module doc); returns it with training metadata."""
    from scipy.optimize import minimize

    t0 = time.time()
    ne = len(elements)
    warm = load_model(s.init) if s.init else None
    if warm is not None:
        s = replace(s, cutoff=warm.cutoff, activation=warm.activation,
                    hidden=s.hidden if len(s.sf) else tuple(int(n) for n in warm.layers[1:-1]))
    sf = (np.asarray(s.sf, float) if len(s.sf) else warm.sf if warm is not None
          else default_table(ne, s.cutoff, s.n_radial))
    tb = Batch(train_frames, sf, s.cutoff, s.force_fraction, s.seed)
    vb = Batch(val_frames, sf, s.cutoff, 1.0)
    g_shift = tb.G.mean(axis=0)
    sd = tb.G.std(axis=0)
    g_scale = np.where(sd > 1e-8 * max(sd.max(), 1e-300), sd, 1.0)
    layers = [len(sf), *s.hidden, 1]
    rng = np.random.default_rng(s.seed)
    npar = n_params(layers)
    e_mean = np.sum(tb.E) / np.sum(tb.natoms)
    theta = np.concatenate([np.concatenate([init_params(layers, rng) * 0.5 for _ in range(ne)]),
                            np.full(ne, e_mean)])
    if warm is not None:
        w, g_shift, g_scale = widen(warm, sf, layers, g_shift, g_scale, rng)
        theta = np.concatenate([w.ravel(), warm.e0])
    obj = Objective(tb, layers, s.activation, ne, g_shift, g_scale, s)
    vobj = Objective(vb, layers, s.activation, ne, g_shift, g_scale, s)
    log(f"train: {tb.nframes} frames / {len(tb.types)} atoms ({len(tb.F)} with forces), validation: {vb.nframes} / "
        f"{len(vb.types)}; {len(sf)} symmetry functions, layers {layers} ({ne * npar + ne} "
        f"parameters); setup {time.time() - t0:.1f} s")
    best, best_val, bad, it = theta.copy(), np.inf, 0, 0
    history = []
    while it < s.max_iter and bad < s.patience:
        r = minimize(obj.loss_grad, theta, jac=True, method="L-BFGS-B",
                     options={"maxiter": s.chunk, "maxcor": 30})
        it += int(r.nit)
        theta = r.x
        vl = vobj.loss_grad(theta)[0]
        history.append([it, float(r.fun), float(vl)])
        log(f"  iter {it:5d}  train loss {r.fun:.4g}  validation loss {vl:.4g}  ({time.time() - t0:.0f} s)")
        if vl < best_val * (1 - 1e-3):
            best, best_val, bad = theta.copy(), vl, 0
        else:
            bad += 1
        if r.nit < s.chunk and r.success:
            bad += 1  # converged: a further chunk restarts from the same point
    w = best[:ne * npar].reshape(ne, npar)
    meta = {"optimizer": "scipy L-BFGS-B on analytic NumPy gradients (no PyTorch/JAX)",
            "settings": {k: v for k, v in asdict(s).items() if k != "sf"},
            "iterations": it, "history": history, "warm_start": s.init or None, "best_validation_loss": best_val,
            "train_frames": tb.nframes, "validation_frames": vb.nframes,
            "train_atoms": int(len(tb.types)), "seconds": round(time.time() - t0, 1),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return NNPModel(elements=elements, masses=masses, cutoff=s.cutoff, sf=sf, g_shift=g_shift,
                    g_scale=g_scale, layers=layers, activation=s.activation, weights=w,
                    e0=best[ne * npar:], metadata=meta)


def describe(model: NNPModel) -> str:
    return json.dumps(model.metadata, indent=1, sort_keys=True)
