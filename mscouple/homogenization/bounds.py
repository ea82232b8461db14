"""Bounds and exact formulas for the effective properties of multiphase composites.

Every function takes per-phase properties ``[n_phases]`` (or tensors ``[n_phases, ...]``)
and volume fractions ``[n_phases]`` that must sum to 1.

- Voigt (arithmetic mean, uniform strain/gradient) and Reuss (harmonic mean, uniform
  stress/flux) bound every effective modulus or conductivity from above and below (Hill
  1952); for tensors the bounds hold in the sense of quadratic forms:
  ``C_R <= C_eff <= C_V``.
- Hashin–Shtrikman (1962/1963) bounds are tighter, for statistically isotropic mixtures
  of isotropic phases (the conductivity bounds also hold for square/cubic-symmetric
  microstructures). We use Walpole's multiphase form: for a reference value ``r``,
  ``X_HS(r) = [sum_i f_i / (X_i + r)]^-1 - r``.
- A laminate (layers normal to axis 0) has an exact effective tensor (Backus 1962):
  Reuss normal to the layers, Voigt along them, with the coupling terms given by
  :func:`laminate_stiffness`.

Tensors use Mandel notation (shear components scaled by sqrt(2)), in which the 4th-order
stiffness is a symmetric ``[m, m]`` matrix (m = 3 in 2D, 6 in 3D) and the tensor inverse is
the matrix inverse. Order of the Mandel components: 2D (11, 22, 12); 3D (11, 22, 33, 23, 13, 12).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

_SQ2 = np.sqrt(2.0)


def _fractions(fractions, n: int) -> np.ndarray:
    f = np.asarray(fractions, dtype=float).reshape(-1)
    if f.size != n:
        raise ConfigError(f"got {f.size} volume fractions for {n} phases: give one per phase")
    if np.any(f < 0) or abs(f.sum() - 1.0) > 1e-12:
        raise ConfigError(f"volume fractions {f.tolist()} must be >= 0 and sum to 1")
    return f


def _positive(values, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).reshape(-1)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ConfigError(f"{what} {v.tolist()} must all be finite and > 0")
    return v


# ------------------------------------------------------------------- scalar bounds
def voigt(values, fractions) -> float:
    """Voigt (parallel, arithmetic) mean ``sum f_i X_i`` of moduli or conductivities."""
    v = _positive(values, "phase values")
    return float(np.dot(_fractions(fractions, v.size), v))


def reuss(values, fractions) -> float:
    """Reuss (series, harmonic) mean ``1 / sum(f_i / X_i)`` of moduli or conductivities."""
    v = _positive(values, "phase values")
    return float(1.0 / np.dot(_fractions(fractions, v.size), 1.0 / v))


def _walpole(values: np.ndarray, f: np.ndarray, ref: float) -> float:
    return float(1.0 / np.dot(f, 1.0 / (values + ref)) - ref)


def hashin_shtrikman_conductivity(values, fractions, dim: int = 3) -> tuple[float, float]:
    """HS (lower, upper) bounds on the effective conductivity (or diffusivity, permittivity)
    of an isotropic ``dim``-dimensional mixture of isotropic phases.

    ``sigma_HS(s) = [sum f_i/(sigma_i + (d-1) s)]^-1 - (d-1) s`` with s = min (lower) or
    max (upper) phase conductivity (Hashin & Shtrikman, J. Appl. Phys. 33, 3125, 1962).
    """
    if dim not in (2, 3):
        raise ConfigError(f"dim = {dim}: HS conductivity bounds are for dim 2 or 3 (in 1D use reuss())")
    s = _positive(values, "phase conductivities")
    f = _fractions(fractions, s.size)
    return _walpole(s, f, (dim - 1) * s.min()), _walpole(s, f, (dim - 1) * s.max())


def hashin_shtrikman_elastic(bulk, shear, fractions, dim: int = 3) -> tuple[tuple[float, float], tuple[float, float]]:
    """HS bounds ``((K_lo, K_hi), (mu_lo, mu_hi))`` for an isotropic mixture of isotropic phases.

    3D: bulk modulus K = lambda + 2/3 mu; reference r_K = 4/3 mu_ref,
    r_mu = mu_ref (9 K_ref + 8 mu_ref) / (6 (K_ref + 2 mu_ref)).
    2D (plane strain, area bulk modulus K = lambda + mu): r_K = mu_ref,
    r_mu = K_ref mu_ref / (K_ref + 2 mu_ref).
    Lower bounds use the smallest K and mu of the phases as reference, upper the largest
    (Hashin & Shtrikman, JMPS 11, 127, 1963; Walpole, JMPS 14, 151, 1966). In 2D the
    bulk bound also holds for square-symmetric microstructures.
    """
    K = _positive(bulk, "phase bulk moduli")
    mu = _positive(shear, "phase shear moduli")
    if K.size != mu.size:
        raise ConfigError("give as many shear moduli as bulk moduli (one per phase)")
    f = _fractions(fractions, K.size)
    if dim == 3:
        rk = lambda m: 4.0 / 3.0 * m  # noqa: E731
        rm = lambda k, m: m * (9 * k + 8 * m) / (6 * (k + 2 * m))  # noqa: E731
    elif dim == 2:
        rk = lambda m: m  # noqa: E731
        rm = lambda k, m: k * m / (k + 2 * m)  # noqa: E731
    else:
        raise ConfigError(f"dim = {dim}: HS elastic bounds are for dim 2 or 3")
    kb = (_walpole(K, f, rk(mu.min())), _walpole(K, f, rk(mu.max())))
    mb = (_walpole(mu, f, rm(K.min(), mu.min())), _walpole(mu, f, rm(K.max(), mu.max())))
    return kb, mb


# ------------------------------------------------------------------- tensors (Mandel)
def mandel_size(dim: int) -> int:
    if dim not in (1, 2, 3):
        raise ConfigError(f"dim = {dim}: expected 1, 2 or 3")
    return dim * (dim + 1) // 2


def mandel_pairs(dim: int) -> list[tuple[int, int]]:
    """Index pairs (i, j) of the Mandel components, in order."""
    return {1: [(0, 0)], 2: [(0, 0), (1, 1), (0, 1)],
            3: [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]}[dim]


def to_mandel(t: np.ndarray) -> np.ndarray:
    """Symmetric 2nd-order tensor(s) ``[..., d, d]`` -> Mandel vectors ``[..., m]``."""
    t = np.asarray(t, dtype=float)
    d = t.shape[-1]
    return np.stack([t[..., i, j] * (1.0 if i == j else _SQ2) for i, j in mandel_pairs(d)], axis=-1)


def from_mandel(v: np.ndarray, dim: int) -> np.ndarray:
    """Mandel vectors ``[..., m]`` -> symmetric tensors ``[..., d, d]``."""
    v = np.asarray(v, dtype=float)
    out = np.zeros(v.shape[:-1] + (dim, dim))
    for k, (i, j) in enumerate(mandel_pairs(dim)):
        s = 1.0 if i == j else 1.0 / _SQ2
        out[..., i, j] = v[..., k] * s
        out[..., j, i] = v[..., k] * s
    return out


def isotropic_stiffness(lam: float, mu: float, dim: int = 3) -> np.ndarray:
    """Mandel matrix ``[m, m]`` of ``C_ijkl = lam d_ij d_kl + mu (d_ik d_jl + d_il d_jk)``.

    In 2D this is plane strain; in 1D it is the P-wave modulus ``lam + 2 mu``.
    """
    m = mandel_size(dim)
    C = np.zeros((m, m))
    C[:dim, :dim] = lam
    C[np.arange(m), np.arange(m)] += 2.0 * mu
    return C


def lame_from_young(E: float, nu: float) -> tuple[float, float]:
    """(lambda, mu) from Young's modulus and Poisson's ratio (3D / plane strain)."""
    if not (E > 0 and -1.0 < nu < 0.5):
        raise ConfigError(f"E = {E}, nu = {nu}: need E > 0 and -1 < nu < 0.5")
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def voigt_tensor(C_phases, fractions) -> np.ndarray:
    """Voigt bound ``<C>`` of stiffness (or conductivity) matrices ``[n_phases, m, m]``."""
    C = np.asarray(C_phases, dtype=float)
    return np.einsum("p,pij->ij", _fractions(fractions, C.shape[0]), C)


def reuss_tensor(C_phases, fractions) -> np.ndarray:
    """Reuss bound ``<C^-1>^-1`` of stiffness (or conductivity) matrices ``[n_phases, m, m]``."""
    C = np.asarray(C_phases, dtype=float)
    f = _fractions(fractions, C.shape[0])
    return np.linalg.inv(np.einsum("p,pij->ij", f, np.linalg.inv(C)))


def laminate_stiffness(C_phases, fractions, dim: int) -> np.ndarray:
    """Exact effective Mandel stiffness ``[m, m]`` of a laminate with layers normal to axis 0.

    Traction components (s_00, s_01, s_02) and in-plane strains (e_11, e_22, e_12) are
    continuous across the layers; eliminating the others gives (Backus 1962)::

        C*_NN = <C_NN^-1>^-1
        C*_NT = C*_NN <C_NN^-1 C_NT>
        C*_TT = <C_TT - C_TN C_NN^-1 C_NT> + <C_TN C_NN^-1> C*_NN <C_NN^-1 C_NT>

    Along the layers this is Voigt-like, normal to them Reuss-like; for the conductivity
    analogue use :func:`laminate_conductivity`.
    """
    C = np.asarray(C_phases, dtype=float)
    f = _fractions(fractions, C.shape[0])
    pairs = mandel_pairs(dim)
    N = [k for k, (i, j) in enumerate(pairs) if 0 in (i, j)]
    T = [k for k, (i, j) in enumerate(pairs) if 0 not in (i, j)]
    Cnn = C[:, N][:, :, N]
    Cnt = C[:, N][:, :, T]
    Ctn = C[:, T][:, :, N]
    Ctt = C[:, T][:, :, T]
    inv_nn = np.linalg.inv(Cnn)
    eff_nn = np.linalg.inv(np.einsum("p,pij->ij", f, inv_nn))
    a = np.einsum("p,pij->ij", f, inv_nn @ Cnt)  # <Cnn^-1 Cnt>
    b = np.einsum("p,pij->ij", f, Ctn @ inv_nn)  # <Ctn Cnn^-1>
    eff_nt = eff_nn @ a
    eff_tt = np.einsum("p,pij->ij", f, Ctt - Ctn @ inv_nn @ Cnt) + b @ eff_nn @ a
    out = np.zeros_like(C[0])
    out[np.ix_(N, N)] = eff_nn
    out[np.ix_(N, T)] = eff_nt
    out[np.ix_(T, N)] = eff_nt.T
    out[np.ix_(T, T)] = eff_tt
    return out


def laminate_conductivity(values, fractions, dim: int) -> np.ndarray:
    """Exact effective conductivity ``[dim, dim]`` of isotropic layers normal to axis 0:
    Reuss across the layers, Voigt along them."""
    out = np.eye(dim) * voigt(values, fractions)
    out[0, 0] = reuss(values, fractions)
    return out
