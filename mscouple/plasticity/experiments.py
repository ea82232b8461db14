"""Experimental size-effect curves used to validate the SSD + GND model (approximate values).

**Provenance — read before use.** These numbers were *not* digitised from scans of the
figures in this project: they are approximate readings of the published curves, recalled
from the figures of the original papers and of their reproductions in later
strain-gradient papers (e.g. Fleck & Hutchinson, Adv. Appl. Mech. 33 (1997) 295; Huang et
al., Int. J. Plasticity 20 (2004) 753). Treat every value as uncertain by about ±20 %
(more than the scatter the papers report); only the trend with size and the magnitude are
meaningful. Replace them with a proper digitisation (e.g. WebPlotDigitizer on the PDFs)
before quoting any fitted constant. A search for published numeric tables (stored public
code, issue threads and web pages: "Fleck Muller Ashby Hutchinson 1994 torsion copper
wires data", "Stolken Evans 1998 bending nickel foils", digitised strain-gradient
plasticity benchmark data) found no table of either data set, so these approximations are
kept, labelled as such.

* Torsion of annealed polycrystalline Cu wires, Fleck, Muller, Ashby & Hutchinson,
  Acta Metall. Mater. 42 (1994) 475, Fig. 5 (b): normalised torque Q/a³ (MPa) against the
  surface shear strain κa, wire diameters 2a = 12, 15, 20, 30, 170 μm. The paper's
  finding: the tensile response does not depend on the diameter, while the torsional
  hardening rises about threefold from 170 μm to 12 μm.
* Micro-bending of annealed Ni foils, Stölken & Evans, Acta Mater. 46 (1998) 5109:
  normalised bending moment M/(w h²) (MPa) against the surface strain ε_b = κh/2, foil
  thicknesses h = 12.5, 25, 50 μm; thinner foils are markedly stronger.

Elastic constants: Cu from the EAM potential (:mod:`.parameters`); Ni (no Ni potential in
the project) from handbook polycrystal values μ = 76 GPa, K = 180 GPa, a = 3.524 Å
(b = a/√2 = 2.49 Å).
"""
from __future__ import annotations

import numpy as np

#: surface shear strains κa of the torsion table
TORSION_STRAIN = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5])
#: Q/a³ in MPa per wire diameter 2a in μm (approximate, see the module docstring)
TORSION_Q_A3 = {
    170.0: np.array([30.0, 40.0, 50.0, 57.0, 62.0, 66.0]),
    30.0: np.array([37.0, 53.0, 75.0, 91.0, 104.0, 114.0]),
    20.0: np.array([41.0, 60.0, 88.0, 107.0, 121.0, 132.0]),
    15.0: np.array([45.0, 67.0, 98.0, 119.0, 134.0, 145.0]),
    12.0: np.array([50.0, 75.0, 106.0, 126.0, 141.0, 152.0]),
}

#: surface strains κh/2 of the bending table
BENDING_STRAIN = np.array([0.005, 0.01, 0.02, 0.04, 0.06, 0.08])
#: M/(w h²) in MPa per Ni foil thickness h in μm (approximate, see the module docstring)
BENDING_M_WH2 = {
    50.0: np.array([22.0, 25.0, 29.0, 33.0, 36.0, 38.0]),
    25.0: np.array([30.0, 35.0, 41.0, 47.0, 51.0, 54.0]),
    12.5: np.array([42.0, 50.0, 59.0, 68.0, 74.0, 78.0]),
}

#: Ni polycrystal constants (MPa, μm): shear and bulk modulus, Burgers vector
NICKEL = {"shear": 76.0e3, "bulk": 180.0e3, "burgers": 3.524e-4 / np.sqrt(2.0)}
