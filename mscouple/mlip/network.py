"""Per-element feed-forward networks of the NNP, in NumPy (training and reference).

One network maps an atom's normalised descriptors Gn [nsf] to its atomic energy (eV):
z_0 = Gn, a_l = z_{l−1} W_l + b_l, z_l = σ(a_l) for hidden layers, output a_L (linear, one
unit). σ = tanh or softplus log(1 + e^a). The flat parameter vector of one element stores,
layer after layer, W_l [n_{l−1}, n_l] (row-major) then b_l [n_l] — the layout the compiled
kernel reads.

Training needs the gradient, with respect to the parameters, of a loss on forces, and forces
are linear in Y = ∂E/∂Gn. :func:`param_grad` therefore differentiates
J = Σ_n e̅_n E_n + Σ_n v_n · Y_n for given adjoints e̅ [n] and v [n, nsf]: the energy term by
ordinary back-propagation, the force term by reverse-mode differentiation of the tangent
(forward-mode) pass in direction v ("double back-propagation", Drucker & LeCun, IEEE Trans.
Neural Netw. 3, 991 (1992)).
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("tanh", "softplus")


def n_params(layers) -> int:
    """Number of parameters of one network with sizes ``layers`` (inputs … 1)."""
    return int(sum(layers[l - 1] * layers[l] + layers[l] for l in range(1, len(layers))))


def init_params(layers, rng: np.random.Generator) -> np.ndarray:
    """Glorot-uniform weights, zero biases: flat [nparam]."""
    out = []
    for l in range(1, len(layers)):
        nin, nout = layers[l - 1], layers[l]
        lim = np.sqrt(6.0 / (nin + nout))
        out.append(rng.uniform(-lim, lim, size=nin * nout))
        out.append(np.zeros(nout))
    return np.concatenate(out)


def unpack(p: np.ndarray, layers):
    """[(W_l [nin, nout], b_l [nout])] views into the flat vector p."""
    out, o = [], 0
    for l in range(1, len(layers)):
        nin, nout = layers[l - 1], layers[l]
        W = p[o:o + nin * nout].reshape(nin, nout)
        o += nin * nout
        b = p[o:o + nout]
        o += nout
        out.append((W, b))
    return out


def _act(name: str, a: np.ndarray):
    """(σ, σ', σ'') of the activation."""
    if name == "tanh":
        t = np.tanh(a)
        d = 1.0 - t * t
        return t, d, -2.0 * t * d
    if name == "softplus":
        s = 0.5 * (1.0 + np.tanh(0.5 * a))  # logistic, overflow-free
        return np.logaddexp(0.0, a), s, s * (1.0 - s)
    raise ValueError(f"activation {name!r}: expected one of {ACTIVATIONS}")


def evaluate(p: np.ndarray, layers, act: str, X: np.ndarray):
    """Energies E [n] and input gradients Y = ∂E/∂X [n, nin] of the atoms X [n, nin];
    returns (E, Y, cache) with the cache for :func:`param_grad`."""
    Ws = unpack(p, layers)
    z = [X]
    s1, s2 = [], []
    L = len(Ws)
    for l, (W, b) in enumerate(Ws, start=1):
        a = z[-1] @ W + b
        if l < L:
            v, d1, d2 = _act(act, a)
        else:
            v, d1, d2 = a, np.ones_like(a), np.zeros_like(a)
        z.append(v)
        s1.append(d1)
        s2.append(d2)
    delta = np.ones((len(X), 1))
    for l in range(L, 0, -1):
        delta = (delta * s1[l - 1]) @ Ws[l - 1][0].T
    return z[-1][:, 0], delta, (Ws, z, s1, s2)


def param_grad(cache, layers, e_adj: np.ndarray, v: np.ndarray) -> np.ndarray:
    """∂/∂p of J = Σ e_adj·E + Σ v·Y (see the module doc); flat [nparam]."""
    Ws, z, s1, s2 = cache
    L = len(Ws)
    # tangent pass: zd_l = dz_l/dε along X + ε v, ad_l = da_l/dε
    zd = [v]
    ad = []
    for l in range(1, L + 1):
        a_dot = zd[-1] @ Ws[l - 1][0]
        ad.append(a_dot)
        zd.append(s1[l - 1] * a_dot)
    zbar = e_adj[:, None].astype(float)
    zdbar = np.ones((len(v), 1))
    grads = [None] * L
    for l in range(L, 0, -1):
        W = Ws[l - 1][0]
        abar = zbar * s1[l - 1] + zdbar * s2[l - 1] * ad[l - 1]
        adbar = zdbar * s1[l - 1]
        gW = z[l - 1].T @ abar + zd[l - 1].T @ adbar
        gb = abar.sum(axis=0)
        grads[l - 1] = (gW, gb)
        zbar = abar @ W.T
        zdbar = adbar @ W.T
    return np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in grads])
