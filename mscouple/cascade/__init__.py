"""Displacement cascades in the MD engine (issue 16).

* ``zbl``: universal ZBL screened Coulomb joined to an EAM pair term (tabulated into the EAM).
* ``dynamics``: adaptive time step (max displacement per step), border Langevin layer,
  electronic stopping friction.
* ``defects``: Wigner–Seitz occupancy against the reference lattice, clusters, extxyz frames.
* ``run``: a PKA cascade driver with Frenkel pairs vs time, and the hand-off file for KMC.
"""
