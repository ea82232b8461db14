"""Homogenization: bounds, exact laminate formulas, periodic RVE solves by FE, effective
transport/reaction in porous media, and dimensionless numbers for scale separation.

Public API (see each module's docstring for shapes and units):

- :mod:`.bounds`: ``voigt, reuss, hashin_shtrikman_conductivity, hashin_shtrikman_elastic,
  isotropic_stiffness, lame_from_young, voigt_tensor, reuss_tensor, laminate_stiffness,
  laminate_conductivity, to_mandel, from_mandel``
- :mod:`.rve`: ``PeriodicRVE(comm, phase, lengths=None).conductivity(k) / .stiffness(C)``
  -> ``RVEResult``; microstructures ``laminate_phases, random_phases, inclusion_phases``
- :mod:`.transport`: ``effective_diffusivity, bruggeman_tortuosity, thiele_modulus,
  effectiveness_factor, effective_rate_constant, mass_transfer_coefficient``
- :mod:`.scales`: ``peclet, damkohler, length_ratio, timestep_ratio, scale_numbers``
"""
from __future__ import annotations

from .bounds import (  # noqa: F401
    hashin_shtrikman_conductivity,
    hashin_shtrikman_elastic,
    isotropic_stiffness,
    laminate_conductivity,
    laminate_stiffness,
    lame_from_young,
    reuss,
    reuss_tensor,
    voigt,
    voigt_tensor,
)
from .transport import (  # noqa: F401
    bruggeman_tortuosity,
    effective_diffusivity,
    effective_rate_constant,
    effectiveness_factor,
    mass_transfer_coefficient,
    thiele_modulus,
)
