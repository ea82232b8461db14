"""Object kinetic Monte Carlo of point defects and their clusters (issue 16).

* ``engine``: :class:`KMC` (BKL residence time, Arrhenius jumps, vacancy emission from
  clusters, capture radii, free-surface sinks, seeded RNG) and :class:`KMCParams`.
* ``handoff``: the MD defect-list file → the KMC's initial objects.
"""
