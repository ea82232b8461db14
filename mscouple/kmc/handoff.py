"""MD → KMC hand-off: the defect-list file of a cascade becomes the KMC's initial objects.

Units: Å (sites, box), as in the file.

Defects of one kind that share a cluster index become one object whose size is the number
of defects and whose site is the member site nearest the cluster's centroid (minimum
image). Only the relaxed, cooled survivors are handed over by default; a file labelled
``peak`` (the damage at its maximum, most of which recombines within picoseconds) is
refused unless ``allow_peak=True`` is passed explicitly.
"""
from __future__ import annotations

import os

import numpy as np

from ..cascade.defects import DefectList, read_defect_list
from ..errors import ConfigError
from .engine import KMC, KMCParams


def objects(dl: DefectList, allow_peak: bool = False):
    """``(kinds [k], sizes [k], sites [k,3])`` of the clustered objects of a defect list."""
    if dl.label != "relaxed" and not allow_peak:
        raise ConfigError(f"the defect list holds the {dl.label!r} state: only the relaxed survivors "
                          "are handed to KMC unless the peak hand-off is asked for explicitly "
                          "(kmc.handoff = \"peak\")")
    L = dl.hi - dl.lo
    per = np.array(dl.periodic, bool)
    kinds, sizes, sites = [], [], []
    for kind in ("V", "I"):
        m = dl.kinds == kind
        for c in np.unique(dl.cluster[m]):
            pts = dl.sites[m & (dl.cluster == c)]
            d = pts - pts[0]
            d[:, per] -= L[per] * np.round(d[:, per] / L[per])
            centre = pts[0] + d.mean(axis=0)
            e = pts - centre
            e[:, per] -= L[per] * np.round(e[:, per] / L[per])
            kinds.append(kind)
            sizes.append(len(pts))
            sites.append(pts[int(np.argmin(np.einsum("ij,ij->i", e, e)))])
    return np.array(kinds, dtype="<U1"), np.array(sizes, int), np.array(sites, float).reshape(-1, 3)


def kmc_from_file(path: str | os.PathLike, params: KMCParams, seed: int = 1,
                  allow_peak: bool = False, periodic=None, box_scale: int = 1, **kw) -> KMC:
    """A :class:`KMC` holding the objects of the defect-list file ``path``, in the MD
    block's box or (``box_scale`` = s > 1) a box s times larger along each edge with the MD
    block in its middle (shifted by ⌊(s − 1)/2⌋ block edges, whole lattice periods): one
    cascade in a larger crystal, as far from free-surface sinks as the box allows.
    ``periodic``: override the file's periodicity (False = free-surface sinks)."""
    if int(box_scale) < 1:
        raise ConfigError(f"kmc.box_scale = {box_scale}: expected an integer >= 1")
    dl = read_defect_list(path)
    if abs(dl.a - params.a) > 1e-6 * params.a:
        raise ConfigError(f"{path}: lattice constant a = {dl.a} Å differs from kmc.a = {params.a} Å")
    k, s, x = objects(dl, allow_peak)
    per = dl.periodic if periodic is None else periodic
    L = dl.hi - dl.lo
    lo = dl.lo - ((int(box_scale) - 1) // 2) * L
    return KMC(lo, lo + int(box_scale) * L, per, k, s, x, params, seed=seed, **kw)
