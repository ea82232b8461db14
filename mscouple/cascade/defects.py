"""Point defects by Wigner–Seitz occupancy against a reference lattice, their clusters,
per-frame extxyz output (OVITO) and the defect-list file handed to kinetic Monte Carlo.

Units: lengths in Å (those of the positions).

Wigner–Seitz analysis (as OVITO's *Wigner-Seitz defect analysis*; Nordlund et al., PRB 57
(1998) 7556): every atom belongs to its nearest reference site (periodic minimum image
along periodic directions). A site with no atom is a vacancy; a site holding k ≥ 2 atoms
holds k − 1 interstitials. With as many atoms as sites, vacancies = interstitials = the
number of Frenkel pairs. Antisites (alloys) are sites whose occupant's type differs from
the site's type.

Clusters: defects of the same kind are connected when closer than ``cutoff`` (default:
the second-neighbour distance a of fcc for vacancies and interstitials alike); clusters are
the connected components (Union–Find over the k-d tree's pairs).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import ConfigError

VACANCY, INTERSTITIAL = "V", "I"


def _reach(*arrays, box) -> float:
    """A length beyond every point of ``arrays`` and the box (the free directions' shift)."""
    m = max([float(np.max(np.abs(np.asarray(a, float) - box.lo))) for a in arrays if len(a)] + [0.0])
    return 4.0 * (m + float(np.max(box.lengths)) + 1.0)


def _tree_coords(x: np.ndarray, box, big: float | None = None):
    """Coordinates shifted into [0, L) along periodic directions and the k-d tree's
    ``boxsize`` (huge along free directions, so that they never wrap). Point sets that are
    compared in one tree must share ``big`` (default: from ``x`` alone)."""
    y = np.asarray(x, dtype=float) - box.lo
    size = np.where(box.periodic, box.lengths, 0.0)
    if big is None:
        big = _reach(x, box=box)
    for d in range(3):
        if box.periodic[d]:
            y[:, d] = np.mod(y[:, d], box.lengths[d])
            y[y[:, d] >= box.lengths[d], d] = 0.0
        else:
            y[:, d] += 0.5 * big
            size[d] = 2.0 * big
    return y, size


@dataclass
class DefectState:
    """Defects of one configuration.

    kinds: [k] "V" or "I"; sites: [k,3] reference-site positions (Å); positions: [k,3]
    (vacancy: the site; interstitial: the extra atom); cluster: [k] cluster index (each
    kind numbered from 0 in its own set: see ``cluster_key``); cluster_size: [k];
    occupancy: [M] atoms per reference site; antisites: number of antisites.
    """

    kinds: np.ndarray
    sites: np.ndarray
    positions: np.ndarray
    site_index: np.ndarray
    cluster: np.ndarray
    cluster_size: np.ndarray
    occupancy: np.ndarray = field(repr=False)
    antisites: int = 0

    @property
    def n_vacancies(self) -> int:
        return int(np.count_nonzero(self.kinds == VACANCY))

    @property
    def n_interstitials(self) -> int:
        return int(np.count_nonzero(self.kinds == INTERSTITIAL))

    @property
    def n_frenkel(self) -> int:
        """Frenkel pairs: min(vacancies, interstitials) (equal when atoms = sites)."""
        return min(self.n_vacancies, self.n_interstitials)

    def cluster_sizes(self, kind: str) -> np.ndarray:
        """Sizes of the clusters of one kind (one entry per cluster, largest first)."""
        m = self.kinds == kind
        if not np.any(m):
            return np.zeros(0, dtype=int)
        _, counts = np.unique(self.cluster[m], return_counts=True)
        return np.sort(counts)[::-1]


def wigner_seitz(sites: np.ndarray, positions: np.ndarray, box, site_types=None,
                 atom_types=None) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy ``[M]`` of the reference ``sites [M,3]`` by ``positions [N,3]`` and the
    site of each atom ``[N]`` (nearest site, minimum image along periodic directions)."""
    big = _reach(sites, positions, box=box)  # one shift for both sets (free directions)
    s, size = _tree_coords(sites, box, big)
    p, _ = _tree_coords(positions, box, big)
    tree = cKDTree(s, boxsize=size)
    _, owner = tree.query(p)
    occ = np.bincount(owner, minlength=len(sites))
    return occ, owner


def clusters(points: np.ndarray, box, cutoff: float) -> np.ndarray:
    """[k] cluster index of each point: connected components of the graph 'closer than
    ``cutoff``' (minimum image along periodic directions)."""
    k = len(points)
    if k == 0:
        return np.zeros(0, dtype=int)
    y, size = _tree_coords(points, box)
    pairs = cKDTree(y, boxsize=size).query_pairs(cutoff, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
    _, lab = connected_components(g, directed=False)
    return lab


def analyse(sites: np.ndarray, positions: np.ndarray, box, cluster_cutoff: float,
            site_types=None, atom_types=None) -> DefectState:
    """Wigner–Seitz defects of ``positions`` against ``sites`` and their clusters."""
    sites = np.asarray(sites, dtype=float)
    positions = np.asarray(positions, dtype=float)
    occ, owner = wigner_seitz(sites, positions, box)
    vac = np.flatnonzero(occ == 0)
    # interstitials: at a site with k atoms, the k - 1 atoms farthest from it
    multi = np.flatnonzero(occ >= 2)
    inter_atoms, inter_sites = [], []
    if len(multi):
        on_multi = np.flatnonzero(np.isin(owner, multi))
        d = positions[on_multi] - sites[owner[on_multi]]
        for dim in range(3):
            if box.periodic[dim]:
                L = box.lengths[dim]
                d[:, dim] -= L * np.round(d[:, dim] / L)
        r = np.einsum("ij,ij->i", d, d)
        order = np.lexsort((r, owner[on_multi]))  # by site, nearest first
        srt = on_multi[order]
        first = np.r_[True, owner[srt][1:] != owner[srt][:-1]]
        inter_atoms = srt[~first]
        inter_sites = owner[inter_atoms]
    inter_atoms = np.asarray(inter_atoms, dtype=int)
    inter_sites = np.asarray(inter_sites, dtype=int)
    kinds = np.array([VACANCY] * len(vac) + [INTERSTITIAL] * len(inter_atoms), dtype="<U1")
    site_index = np.concatenate([vac, inter_sites]).astype(int)
    pos = np.concatenate([sites[vac], positions[inter_atoms]]).reshape(-1, 3)
    cl = np.zeros(len(kinds), dtype=int)
    size = np.zeros(len(kinds), dtype=int)
    for kind in (VACANCY, INTERSTITIAL):
        m = np.flatnonzero(kinds == kind)
        if len(m):
            lab = clusters(sites[site_index[m]], box, cluster_cutoff)
            cl[m] = lab
            size[m] = np.bincount(lab)[lab]
    anti = 0
    if site_types is not None and atom_types is not None:
        st = np.asarray(site_types)
        single = occ[owner] == 1
        anti = int(np.count_nonzero(np.asarray(atom_types)[single] != st[owner[single]]))
    return DefectState(kinds, sites[site_index].reshape(-1, 3), pos, site_index, cl, size,
                       occ, anti)


# ---------------------------------------------------------------------------- files
def extxyz_frame(state: DefectState, box, time: float, step: int) -> str:
    """One extxyz frame of the defects: species V/I, position, ``defect`` (−1 vacancy,
    +1 interstitial), ``cluster`` (index) and ``cluster_size``; OVITO reads these columns."""
    L = box.lengths
    head = (f'Lattice="{L[0]:.8g} 0 0 0 {L[1]:.8g} 0 0 0 {L[2]:.8g}" '
            f'Origin="{box.lo[0]:.8g} {box.lo[1]:.8g} {box.lo[2]:.8g}" '
            'Properties=species:S:1:pos:R:3:defect:I:1:cluster:I:1:cluster_size:I:1 '
            f'Time={time:.10g} Step={step} '
            f'pbc="{" ".join("T" if p else "F" for p in box.periodic)}"')
    rows = [f"{k} {p[0]:.6f} {p[1]:.6f} {p[2]:.6f} {-1 if k == VACANCY else 1} {c} {s}"
            for k, p, c, s in zip(state.kinds, state.positions, state.cluster, state.cluster_size)]
    return "\n".join([str(len(rows)), head, *rows]) + "\n"


@dataclass(frozen=True)
class DefectList:
    """The hand-off file's content: the defects of one state on a lattice.

    kinds [k] ("V"/"I"), sites [k,3] (Å, reference-lattice sites), cluster [k] (index per
    kind); lattice ("fcc"), a (Å), box lo/hi (Å), periodic [3]; time (ps) and label
    (which state: "relaxed" survivors or "peak") of the MD run it came from.
    """

    kinds: np.ndarray
    sites: np.ndarray
    cluster: np.ndarray
    lattice: str
    a: float
    lo: np.ndarray
    hi: np.ndarray
    periodic: tuple
    time: float = 0.0
    label: str = "relaxed"


_MAGIC = "# mscouple defect list v1"


def write_defect_list(path: str | os.PathLike, state: DefectState, box, lattice: str, a: float,
                      time: float, label: str = "relaxed") -> None:
    """Write the hand-off file: one header line of key=value, then ``kind x y z cluster``
    rows (site positions, Å). Written to a temporary name and renamed (atomic)."""
    if label not in ("relaxed", "peak"):
        raise ConfigError(f"defect list label = {label!r}: expected 'relaxed' or 'peak'")
    head = (f"{_MAGIC}\n# lattice={lattice} a={a!r} lo={','.join(repr(float(v)) for v in box.lo)} "
            f"hi={','.join(repr(float(v)) for v in box.hi)} "
            f"periodic={','.join(str(int(p)) for p in box.periodic)} time_ps={time!r} label={label}\n"
            "# kind x y z cluster\n")
    rows = "".join(f"{k} {s[0]!r} {s[1]!r} {s[2]!r} {c}\n"
                   for k, s, c in zip(state.kinds, state.sites, state.cluster))
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(head + rows)
    os.replace(tmp, path)


def read_defect_list(path: str | os.PathLike) -> DefectList:
    """Read a file of :func:`write_defect_list`; one-line ConfigError naming the file."""
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the defect list ({exc.strerror or exc})") from None
    if not lines or lines[0].strip() != _MAGIC:
        raise ConfigError(f"{path}: not an mscouple defect list (first line must be {_MAGIC!r})")
    try:
        meta = dict(kv.split("=", 1) for kv in lines[1].lstrip("# ").split())
        kinds, sites, cl = [], [], []
        for ln in lines[3:]:
            if not ln.strip():
                continue
            k, x, y, z, c = ln.split()
            if k not in (VACANCY, INTERSTITIAL):
                raise ValueError(f"defect kind {k!r} (expected V or I)")
            kinds.append(k)
            sites.append((float(x), float(y), float(z)))
            cl.append(int(c))
        return DefectList(np.array(kinds, dtype="<U1"), np.array(sites, float).reshape(-1, 3),
                          np.array(cl, int), meta["lattice"], float(meta["a"]),
                          np.array(meta["lo"].split(","), float), np.array(meta["hi"].split(","), float),
                          tuple(bool(int(p)) for p in meta["periodic"].split(",")),
                          float(meta["time_ps"]), meta["label"])
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(f"{path}: malformed defect list ({exc})") from None
