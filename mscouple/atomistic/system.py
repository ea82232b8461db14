"""An atomistic patch: owned atoms of one rank of a spatially decomposed MD system.

:class:`MDSystem` (alias :class:`AtomisticPatch`) is collective on its ``comm`` (a patch
communicator; ``MPI.COMM_SELF`` for a serial system). Every rank passes the same global
input (positions ``[N,3]`` etc.) and keeps the atoms of its sub-box.

Per-rank owned-atom arrays (views; C-contiguous; re-fetch them when ``reorder_count``
changes, because migration and cell sorting reorder atoms):

=================  =============  ==========================================================
``ids``            [n] int64      global atom ids (0..N-1 unless given)
``types``          [n] int32      atom types 0..ntypes-1
``x``, ``v``       [n,3] float64  positions (wrapped into periodic boxes), velocities
``f``              [n,3] float64  forces of the last force evaluation (incl. external)
``x0``             [n,3] float64  reference positions (unwrapped; set at creation)
``image``          [n,3] int32    periodic image counts: unwrapped = x + image * L
``mass``           [n] float64    writable (bridging-domain coupling scales it by 1 - w)
``energy_weight``  [n] float64    pair i-j contributes energy and force x (w_i + w_j) / 2
``external_force`` [n,3] float64  added to f at every force evaluation
``fixed``          [n] uint8      1 = position prescribed: no kick, no drift, no thermostat
``langevin_gamma`` [n] float64    per-atom friction of the Langevin thermostat (1/time)
=================  =============  ==========================================================

Velocity-Verlet pieces for coupling, each local to the rank except ``compute_forces``
(collective: ghost exchange and, when due, neighbour rebuild with atom migration)::

    system.kick(dt / 2); system.drift(dt); system.compute_forces(); system.kick(dt / 2)

``run(nsteps)`` performs the same steps (with the thermostat) entirely in compiled code on
one rank, and with one Python-level loop iteration per step on several ranks. Reductions
(``kinetic_energy``, ``potential_energy``, ``temperature``, ``virial``, ``region_sum``) are
collective. Units: ``units="lj"`` or ``"metal"`` (:mod:`mscouple.units`).
"""
from __future__ import annotations

from time import perf_counter as _perf
from typing import Sequence

import numpy as np

from .._kernels import integrate as _ki
from .._kernels import neighbor as _kn
from .._kernels import pair as _kp
from ..errors import ConfigError, SimulationError
from ..units import get_units
from .box import Box
from .decomposition import Decomposition
from .potentials import ForceContext
from .thermostats import Langevin, NoseHooverChain, VelocityRescale

_NEVER = 1 << 60


class MDSystem:
    """Spatially decomposed MD system (see the module docstring).

    Parameters
    ----------
    comm: patch communicator (mpi4py); collective.
    box: :class:`Box`.
    positions: [N,3] global positions (the same on every rank).
    potential: a potential object (:mod:`mscouple.atomistic.potentials`, ``EAM``).
    types: [N] int types (default 0); masses: scalar, [ntypes] per type or [N] per atom.
    velocities: [N,3] or None (zero); ids: [N] int64 global ids (default arange(N)).
    units: "lj" or "metal"; dt: time step; skin: neighbour skin (length).
    neigh_every, neigh_check: rebuild the lists at most every ``neigh_every`` steps, and
        then only if some atom moved more than skin/2 (``neigh_check``) -- LAMMPS'
        ``neigh_modify every N check yes/no``.
    sort_every: sort owned atoms by cell every k-th rebuild (0: never).
    thermostat: None, :class:`Langevin`, :class:`NoseHooverChain` or :class:`VelocityRescale`.
    grid: processor grid (default: chosen by :func:`choose_grid`).
    dof_removed: degrees of freedom subtracted from dimension · N_mobile for the temperature
        (default: ``dimension``, the total momentum).
    dimension: 3, or 2 for a planar lattice (z = 0) and 1 for a chain (y = z = 0): velocities
        are drawn in the line/plane only, the temperature counts those degrees of freedom, and
        since pair and EAM forces of atoms in a plane lie in that plane the atoms stay in it
        (LAMMPS ``dimension 2`` + ``fix enforce2d``; a Langevin thermostat is refused).
    """

    def __init__(self, comm, box: Box, positions, potential, *, types=None, masses=1.0,
                 velocities=None, ids=None, units: str = "lj", dt: float = 0.005,
                 skin: float = 0.3, neigh_every: int = 1, neigh_check: bool = True,
                 sort_every: int = 10, thermostat=None, grid=None, dof_removed: int | None = None,
                 dimension: int = 3):
        self.comm = comm
        self.box = box
        self.potential = potential
        self.units = get_units(units)
        if not dt > 0:
            raise ConfigError(f"dt must be > 0, got {dt}")
        if skin < 0:
            raise ConfigError(f"skin must be >= 0, got {skin}")
        if int(neigh_every) < 1:
            raise ConfigError("neigh_every must be >= 1")
        self.dt = float(dt)
        self.skin = float(skin)
        self.neigh_every = int(neigh_every)
        self.neigh_check = bool(neigh_check)
        self.sort_every = int(sort_every)
        if dimension not in (1, 2, 3):
            raise ConfigError(f"dimension = {dimension}: expected 1, 2 or 3")
        self.dimension = int(dimension)
        self.dof_removed = self.dimension if dof_removed is None else int(dof_removed)
        self.cutneigh = potential.cutoff + self.skin
        self.decomp = Decomposition(comm, box, self.cutneigh, grid)

        x = np.array(positions, dtype=float).reshape(-1, 3)
        N = len(x)
        self.natoms = N
        if not np.all(np.isfinite(x)):
            raise ConfigError("positions contain non-finite values")
        ids = np.arange(N, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        types = (np.zeros(N, dtype=np.int32) if types is None
                 else np.asarray(types, dtype=np.int32).reshape(N))
        if N and (types.min() < 0 or types.max() >= potential.ntypes):
            raise ConfigError(f"types must lie in 0..{potential.ntypes - 1} for this potential")
        m = np.asarray(masses, dtype=float)
        if m.ndim == 0:
            mass = np.full(N, float(m))
        elif m.shape == (potential.ntypes,) and m.shape != (N,):
            mass = m[types]
        elif m.shape == (N,):
            mass = m.copy()
        else:
            raise ConfigError("masses: give a scalar, one per type, or one per atom")
        if np.any(mass <= 0):
            raise ConfigError("masses must be > 0")
        vel = np.zeros((N, 3)) if velocities is None else np.array(velocities, float).reshape(N, 3)
        x0 = x.copy()
        image = np.zeros((N, 3), dtype=np.int32)
        box.wrap(x, image)
        mine = self.decomp.owner(x) == self.decomp.rank if N else np.zeros(0, bool)
        self._loc = {
            "ids": ids[mine], "types": types[mine], "x": x[mine], "v": vel[mine],
            "x0": x0[mine], "image": image[mine], "mass": mass[mine],
            "energy_weight": np.ones(int(mine.sum())),
            "external_force": np.zeros((int(mine.sum()), 3)),
            "fixed": np.zeros(int(mine.sum()), dtype=np.uint8),
            "langevin_gamma": np.zeros(int(mine.sum())),
        }
        self._loc = {k: np.ascontiguousarray(a) for k, a in self._loc.items()}
        self._cap = 0
        self._nstart = np.zeros(1, dtype=np.int32)
        self._nlist = np.zeros(0, dtype=np.int32)
        self._eatom = None
        self._vatom = None
        self.step_count = 0
        self.reorder_count = 0
        # wall seconds per phase on this rank (see mscouple.run.timers)
        self.timing = {"force": 0.0, "neighbor": 0.0, "ghost": 0.0, "integrate": 0.0}
        self._fused_last = False
        self.rebuild_count = 0
        self.langevin_heat_local = 0.0
        self._ago = 0
        self._forces_valid = False
        self._energy_valid = False
        self._weights_active = False
        self._epot_local = 0.0
        self._virial_local = np.zeros(6)
        self._thermostat = None
        self._nhc_state = np.zeros(1)
        #: run whole chunks of steps in compiled code when on one rank (False: step in Python)
        self.use_fused = True
        #: force fixes: objects whose ``post_force(system)`` adds to the owned atoms' forces
        #: ``system.f`` after the pair forces in every evaluation (LAMMPS' fix ``post_force``;
        #: e.g. :class:`mscouple.atomistic.indenter.Indenter`). Their energies stay with
        #: the fix (not in :meth:`potential_energy`). With fixes present the fused compiled
        #: loop is not used: every step goes through :meth:`compute_forces`' path.
        self.fixes: list = []
        self._rebuild()
        self.thermostat = thermostat

    # ------------------------------------------------------------------ arrays
    @property
    def nlocal(self) -> int:
        return len(self._loc["ids"])

    @property
    def nghost(self) -> int:
        return self.decomp.nghost

    def _get(name):  # noqa: N805 - property factory
        def getter(self):
            return self._loc[name]

        def setter(self, value):
            self._loc[name][...] = value

        return property(getter, setter, doc=f"owned atoms' ``{name}`` (see module doc)")

    ids = _get("ids")
    types = _get("types")
    x = _get("x")
    v = _get("v")
    x0 = _get("x0")
    image = _get("image")
    mass = _get("mass")
    energy_weight = _get("energy_weight")
    external_force = _get("external_force")
    fixed = _get("fixed")
    langevin_gamma = _get("langevin_gamma")
    del _get

    @property
    def f(self) -> np.ndarray:
        """[n,3] forces of the last evaluation (pair + external + fixes)."""
        return self._fall[:self.nlocal]

    @property
    def ghost_ids(self) -> np.ndarray:
        """[nghost] global ids of the ghost atoms (periodic images and neighbours' atoms)."""
        return self._idsall[self.nlocal:self.nlocal + self.nghost]

    def add_per_atom(self, name: str, shape: Sequence[int] = (), dtype=float, fill=0) -> np.ndarray:
        """Register a per-atom array ``[n, *shape]`` that migrates and sorts with the atoms."""
        if name in self._loc:
            raise ConfigError(f"per-atom array {name!r} exists already")
        self._loc[name] = np.full((self.nlocal, *shape), fill, dtype=dtype)
        return self._loc[name]

    def per_atom(self, name: str) -> np.ndarray:
        return self._loc[name]

    def unwrapped_positions(self) -> np.ndarray:
        """[n,3] positions continuous in time across periodic boundaries."""
        return self.x + self.image * self.box.lengths

    def displacements(self) -> np.ndarray:
        """[n,3] unwrapped positions minus reference positions x0."""
        return self.unwrapped_positions() - self.x0

    # ------------------------------------------------------------------ neighbours
    def _ensure_capacity(self, nall: int) -> None:
        if nall <= self._cap and self._cap > 0:
            return
        cap = max(int(1.3 * nall) + 16, 64)
        n_old = min(self._cap, nall)
        xall = np.zeros((cap, 3))
        tall = np.zeros(cap, dtype=np.int32)
        wall = np.ones(cap)
        if self._cap:
            xall[:n_old] = self._xall[:n_old]
            tall[:n_old] = self._tall[:n_old]
            wall[:n_old] = self._wall[:n_old]
        self._xall, self._tall, self._wall = xall, tall, wall
        self._fall = np.zeros((cap, 3))
        self._idsall = np.zeros(cap, dtype=np.int64)
        self._cap = cap

    def _ghosts_and_list(self, loc: dict, n: int) -> int:
        """Ghost atoms from the decomposition's border exchange, the combined owned + ghost
        arrays, and the half neighbour list built from ``loc["x"]`` (remembered as the
        positions of the last build); returns owned + ghost count. Collective (ghost plan)."""
        gx, gp = self.decomp.borders(loc["x"], {"types": loc["types"],
                                                "energy_weight": loc["energy_weight"],
                                                "ids": loc["ids"]})
        ng = len(gx)
        nall = n + ng
        x_local = np.array(loc["x"])
        t_local = np.array(loc["types"])
        w_local = np.array(loc["energy_weight"])
        self._ensure_capacity(nall)
        self._xall[:n] = x_local
        self._xall[n:nall] = gx
        self._tall[:n] = t_local
        self._tall[n:nall] = gp["types"]
        self._wall[:n] = w_local
        self._wall[n:nall] = gp["energy_weight"]
        self._idsall[:n] = loc["ids"]
        self._idsall[n:nall] = gp["ids"]
        loc["x"] = self._xall[:n]
        loc["types"] = self._tall[:n]
        loc["energy_weight"] = self._wall[:n]
        if self._nstart.shape[0] < n + 1:
            self._nstart = np.zeros(n + 1, dtype=np.int32)
        cnt = _kn.build_half(self._xall, n, nall, self.cutneigh, self._nstart, self._nlist)
        if cnt > len(self._nlist):
            self._nlist = np.zeros(int(1.2 * cnt) + 64, dtype=np.int32)
            cnt = _kn.build_half(self._xall, n, nall, self.cutneigh, self._nstart, self._nlist)
        self._xhold = np.array(loc["x"])
        return nall

    def _rebuild(self) -> None:
        """Wrap, migrate, sort, rebuild ghosts and the neighbour list (collective)."""
        loc = self._loc
        self.box.wrap(loc["x"], loc["image"])
        changed = False
        if self.decomp.size > 1:
            atoms = {k: np.array(a) for k, a in loc.items()}
            atoms, moved = self.decomp.migrate(atoms)
            if moved:
                loc = self._loc = atoms
                changed = True
        n = len(loc["x"])
        if self.sort_every > 0 and self.rebuild_count % self.sort_every == 0 and n:
            perm = _kn.sort_order(np.ascontiguousarray(loc["x"]), n, 0.5 * self.cutneigh)
            if np.any(perm != np.arange(n)):
                for k, a in loc.items():
                    a[...] = a[perm]
                changed = True
        self._ghosts_and_list(loc, n)
        self._ago = 0
        self.rebuild_count += 1
        if changed:
            self.reorder_count += 1
        self._forces_valid = False

    def invalidate_neighbors(self) -> None:
        """Force a rebuild at the next force evaluation (after arbitrary position edits)."""
        self._ago = _NEVER

    def _needs_rebuild_local(self, disp_sq: float | None = None) -> bool:
        """This rank's neighbour-list schedule: ``every``/``check`` against half the skin on
        the displacements since the last build (``disp_sq``: their max², when the caller
        computed it, e.g. fused into its drift)."""
        if self._ago >= _NEVER:
            return True
        if self._ago < self.neigh_every:
            return False
        if not self.neigh_check:
            return True
        if disp_sq is None:
            disp_sq = _kn.max_displacement_sq(self._xall, self._xhold, self.nlocal)
        return disp_sq > 0.25 * self.skin ** 2

    def _update_neighbors(self, collective_flags: bool) -> None:
        need = self._needs_rebuild_local()
        if collective_flags:
            w_active = bool(np.any(self._loc["energy_weight"] != 1.0))
            flags = np.array([need, w_active], dtype=np.int64)
            if self.decomp.size > 1:
                flags = _allreduce_max(self.comm, flags)
            need, self._weights_active = bool(flags[0]), bool(flags[1])
        elif self.decomp.size > 1 and (self.neigh_check or self._ago >= _NEVER):
            need = bool(_allreduce_max(self.comm, np.array([need], np.int64))[0])
        t0 = _perf()
        if need:
            self._rebuild()
            self.timing["neighbor"] += _perf() - t0
        else:
            self._forward_positions()
            self.timing["ghost"] += _perf() - t0
        if self._weights_active:
            self.decomp.forward(self._wall[:self.nlocal + self.nghost])

    def _forward_positions(self) -> None:
        n, ng = self.nlocal, self.nghost
        if self.decomp.all_local:
            _kp.ghosts_forward(self._xall, n, self.decomp.gsrc, self.decomp.gshift)
        else:
            self.decomp.forward(self._xall[:n + ng], positions=True)

    def _reverse(self, a: np.ndarray) -> None:
        if self.decomp.all_local:
            _kp.ghosts_reverse(a, self.nlocal, self.decomp.gsrc)
        else:
            self.decomp.reverse(a)

    # ------------------------------------------------------------------ forces
    def compute_forces(self, energy: bool = True, virial: bool = True,
                       per_atom: bool = False) -> None:
        """Forces (pair + external) for the current positions, and optionally energy, virial
        and per-atom energy/virial. Collective (ghost exchange; rebuild when due)."""
        self._update_neighbors(collective_flags=True)
        self._evaluate(energy, virial, per_atom)

    def _evaluate(self, eflag: bool, vflag: bool, per_atom: bool) -> None:
        t0 = _perf()
        self._evaluate_forces(eflag, vflag, per_atom)
        self.timing["force"] += _perf() - t0

    def _evaluate_forces(self, eflag: bool, vflag: bool, per_atom: bool) -> None:
        n, nall = self.nlocal, self.nlocal + self.nghost
        eatom = vatom = None
        if per_atom:
            if self._eatom is None or len(self._eatom) < nall:
                self._eatom = np.zeros(self._cap)
                self._vatom = np.zeros((self._cap, 6))
            eatom, vatom = self._eatom[:nall], self._vatom[:nall]
        ctx = ForceContext(self._xall, self._tall, self._wall if self._weights_active else None,
                           n, nall, self._nstart, self._nlist, self._fall,
                           lambda a: self.decomp.forward(a[:nall]),
                           lambda a: self._reverse(a[:nall]))
        e, vir = self.potential.compute(ctx, eflag, vflag, eatom, vatom)
        self._reverse(self._fall[:nall])
        if per_atom:
            self._reverse(eatom)
            self._reverse(vatom)
            self._per_atom_valid = True
        else:
            self._per_atom_valid = False
        self._fall[:n] += self._loc["external_force"]
        for fix in self.fixes:
            fix.post_force(self)
        if eflag:
            self._epot_local = e
        if vflag:
            self._virial_local = np.asarray(vir)
        self._energy_valid = bool(eflag and vflag)
        self._forces_valid = True

    # ------------------------------------------------------------------ integration
    def kick(self, half_dt: float | None = None) -> None:
        """v += half_dt F/m on mobile owned atoms (default half_dt = dt/2). Local."""
        h = 0.5 * self.dt if half_dt is None else float(half_dt)
        _ki.kick(self._loc["v"], self._fall, self._loc["mass"], self._loc["fixed"],
                 self.nlocal, h * self.units.ftm2v)

    def _drift(self, dt: float) -> None:
        _ki.drift(self._xall, self._loc["v"], self._loc["fixed"], self.nlocal, dt)
        self._energy_valid = False
        self._forces_valid = False

    def drift(self, dt: float | None = None) -> None:
        """x += dt v on mobile owned atoms (default dt). Local; counts one step for the
        neighbour-list schedule."""
        self._drift(self.dt if dt is None else float(dt))
        self._ago += 1

    @property
    def thermostat(self):
        return self._thermostat

    @thermostat.setter
    def thermostat(self, th) -> None:
        if th is not None and not isinstance(th, (Langevin, NoseHooverChain, VelocityRescale)):
            raise ConfigError(f"unknown thermostat {th!r}")
        if isinstance(th, Langevin) and self.dimension < 3:
            raise ConfigError(f"a Langevin thermostat on a {self.dimension}D system would kick atoms out of "
                              "their line/plane (its noise acts on x, y and z): use Nosé–Hoover or velocity "
                              "rescaling, or a 3D lattice")
        self._thermostat = th
        if isinstance(th, Langevin):
            self._loc["langevin_gamma"][:] = 1.0 / th.damping
        if isinstance(th, NoseHooverChain):
            m = int(th.length)
            st = np.zeros(3 * m + 1)
            st[2 * m + 2:] = -1.0 / th.tau ** 2  # chain accelerations with zero velocities
            self._nhc_state = st

    def _thermostat_code(self) -> int:
        th = self._thermostat
        return {type(None): 0, Langevin: 1, NoseHooverChain: 2, VelocityRescale: 3}[type(th)]

    def _kT(self) -> float:
        th = self._thermostat
        return 0.0 if th is None else self.units.boltzmann * th.temperature

    def _mv2_global(self) -> float:
        s = _ki.mv2(self._loc["v"], self._loc["mass"], self._loc["fixed"], self.nlocal)
        return self.comm.allreduce(s) if self.decomp.size > 1 else s

    def _step_begin(self) -> None:
        th = self._thermostat
        if isinstance(th, NoseHooverChain):
            ke2 = self._mv2_global() * self.units.mvv2e
            s = _ki.nhc_half_step(self._nhc_state, int(th.length), ke2, self.dof(), self._kT(),
                                  th.tau, self.dt)
            _ki.scale_velocities(self._loc["v"], self._loc["fixed"], self.nlocal, s)
        self.kick()
        if isinstance(th, Langevin):
            self._drift(0.5 * self.dt)
            dk = _ki.langevin(self._loc["v"], self._loc["mass"], self._loc["fixed"],
                              self._loc["langevin_gamma"], self._loc["ids"], self.nlocal,
                              self.dt, self._kT() / self.units.mvv2e, self.step_count + 1,
                              th.seed)
            self.langevin_heat_local += 0.5 * self.units.mvv2e * dk
            self._drift(0.5 * self.dt)
        else:
            self._drift(self.dt)
        self._ago += 1

    def _step_end(self, eflag: bool, per_atom: bool = False) -> None:
        self._update_neighbors(collective_flags=False)
        self._evaluate(eflag, eflag, per_atom)
        self.kick()
        th = self._thermostat
        if isinstance(th, NoseHooverChain):
            ke2 = self._mv2_global() * self.units.mvv2e
            s = _ki.nhc_half_step(self._nhc_state, int(th.length), ke2, self.dof(), self._kT(),
                                  th.tau, self.dt)
            _ki.scale_velocities(self._loc["v"], self._loc["fixed"], self.nlocal, s)
        elif isinstance(th, VelocityRescale) and (self.step_count + 1) % th.every == 0:
            ke2 = self._mv2_global() * self.units.mvv2e
            if ke2 > 0:
                _ki.scale_velocities(self._loc["v"], self._loc["fixed"], self.nlocal,
                                     np.sqrt(self.dof() * self._kT() / ke2))
        self.step_count += 1

    def step(self) -> None:
        """One velocity-Verlet step with the thermostat (collective)."""
        self.run(1)

    def run(self, nsteps: int, per_atom: bool = False) -> None:
        """Advance ``nsteps`` steps (collective). Energy and virial (and per-atom ones when
        ``per_atom``) are evaluated on the last step only."""
        nsteps = int(nsteps)
        if nsteps <= 0:
            return
        t0, inner0 = _perf(), sum(self.timing.values())
        try:
            self._run(nsteps, per_atom)
        finally:
            # what the phases inside did not book: integration (and, in the fused compiled
            # loop, the force kernels between rebuilds)
            rest = _perf() - t0 - (sum(self.timing.values()) - inner0)
            self.timing["force" if self._fused_last else "integrate"] += rest

    def _run(self, nsteps: int, per_atom: bool) -> None:
        if not self._forces_valid:
            self.compute_forces(energy=False, virial=False)
        else:
            # energy weights may have been edited since the last evaluation
            w_active = bool(np.any(self._loc["energy_weight"] != 1.0))
            if self.decomp.size > 1:
                w_active = bool(_allreduce_max(self.comm, np.array([w_active], np.int64))[0])
            if w_active:
                self.decomp.forward(self._wall[:self.nlocal + self.nghost])
            self._weights_active = w_active
        self._fused_last = bool(self.use_fused and self.decomp.size == 1 and not self.fixes
                                and getattr(self.potential, "fusable", False))
        if self._fused_last:
            self._run_fused(nsteps, per_atom)
        else:
            for s in range(nsteps):
                self._step_begin()
                self._step_end(eflag=(s == nsteps - 1), per_atom=per_atom and s == nsteps - 1)
        self._energy_valid = True
        self._per_atom_valid = per_atom

    def _run_fused(self, nsteps: int, per_atom: bool) -> None:
        th = self._thermostat
        code = self._thermostat_code()
        done = 0
        while done < nsteps:
            n, nall = self.nlocal, self.nlocal + self.nghost
            eatom = vatom = None
            if per_atom:
                if self._eatom is None or len(self._eatom) < nall:
                    self._eatom = np.zeros(self._cap)
                    self._vatom = np.zeros((self._cap, 6))
                eatom, vatom = self._eatom[:nall], self._vatom[:nall]
            L = self._loc
            nhc_m = int(th.length) if isinstance(th, NoseHooverChain) else 1
            pot = self.potential
            # a many-body potential brings its own compiled loop (EAM: csrc/eam_step.pyx)
            kernel, pargs = (pot.fused_kernel(self._cap) if hasattr(pot, "fused_kernel")
                             else (_ki.run_fused, (pot.style, pot.coef, pot.ntypes)))
            k, need, ago, e, vir, heat = kernel(
                nsteps - done, n, self.nghost, self._xall, L["v"], self._fall, L["mass"],
                L["fixed"], L["external_force"], L["ids"], self._tall,
                self._wall if self._weights_active else None, self._xhold, self._nstart,
                self._nlist, self.decomp.gsrc, self.decomp.gshift, *pargs, self.dt,
                self.units.ftm2v, self.units.mvv2e, self.neigh_every, self.neigh_check, self._ago,
                0.25 * self.skin ** 2, code, self._kT(), L["langevin_gamma"], self.step_count,
                int(th.seed) if isinstance(th, Langevin) else 0, self._nhc_state, nhc_m,
                float(th.tau) if isinstance(th, NoseHooverChain) else 1.0, float(self.dof()),
                int(th.every) if isinstance(th, VelocityRescale) else 0, eatom, vatom)
            self.step_count += k
            done += k
            self._ago = ago
            self.langevin_heat_local += 0.5 * self.units.mvv2e * heat
            if k and not need:
                self._epot_local, self._virial_local = e, np.asarray(vir)
            if need:
                self._rebuild()
                last = done == nsteps - 1
                self._step_end(eflag=last, per_atom=per_atom and last)
                done += 1
        self._forces_valid = True

    # ------------------------------------------------------------------ observables
    def _sum(self, value):
        return self.comm.allreduce(value) if self.decomp.size > 1 else value

    def dof(self) -> int:
        """Degrees of freedom of the temperature: dimension · N_mobile − dof_removed (collective)."""
        nm = self._sum(int(np.count_nonzero(self._loc["fixed"] == 0)))
        return max(self.dimension * nm - self.dof_removed, 1)

    def kinetic_energy(self) -> float:
        """Sum of 1/2 m v^2 over mobile atoms, energy units (collective)."""
        return 0.5 * self.units.mvv2e * self._mv2_global()

    def per_atom_kinetic_energy(self) -> np.ndarray:
        """[n] 1/2 m v^2 of the owned atoms, energy units (0 for fixed atoms). Local."""
        L = self._loc
        ke = 0.5 * self.units.mvv2e * L["mass"] * np.einsum("ij,ij->i", L["v"], L["v"])
        ke[L["fixed"] != 0] = 0.0
        return ke

    def temperature(self) -> float:
        """2 KE / (dof k_B) (collective)."""
        return 2.0 * self.kinetic_energy() / (self.dof() * self.units.boltzmann)

    def _ensure_energy(self, per_atom: bool = False) -> None:
        valid = self._energy_valid and (not per_atom or getattr(self, "_per_atom_valid", False))
        valid = bool(self.comm.allreduce(int(not valid))) if self.decomp.size > 1 else not valid
        if valid:  # i.e. some rank needs an evaluation
            self.compute_forces(energy=True, virial=True, per_atom=per_atom)

    def potential_energy(self) -> float:
        """Total potential energy (collective)."""
        self._ensure_energy()
        return self._sum(float(self._epot_local))

    def total_energy(self) -> float:
        return self.kinetic_energy() + self.potential_energy()

    def virial(self) -> np.ndarray:
        """[6] xx, yy, zz, xy, xz, yz of sum_pairs r_ij (x) f_ij, energy units (collective).
        For a homogeneous strain eps, dE/d eps_ab = -virial_ab."""
        self._ensure_energy()
        return self._sum(np.array(self._virial_local))

    def pressure_tensor(self) -> np.ndarray:
        """[6] (sum m v (x) v mvv2e + virial) / V (energy/volume; stress = -pressure)."""
        v, m = self._loc["v"], self._loc["mass"]
        mob = self._loc["fixed"] == 0
        kin = np.array([np.sum(m[mob] * v[mob, a] * v[mob, b])
                        for a, b in ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))])
        return (self._sum(kin) * self.units.mvv2e + self.virial()) / self.box.volume

    def per_atom_energy(self) -> np.ndarray:
        """[n] potential energy of each owned atom (half of each pair; EAM: + embedding)."""
        self._ensure_energy(per_atom=True)
        return self._eatom[:self.nlocal]

    def per_atom_virial(self) -> np.ndarray:
        """[n,6] per-atom virial (half of each pair's r (x) f); sums to :meth:`virial`."""
        self._ensure_energy(per_atom=True)
        return self._vatom[:self.nlocal]

    def region_sum(self, values: np.ndarray, mask: np.ndarray | None = None):
        """Sum of per-atom ``values [n, ...]`` over owned atoms in ``mask [n]`` (collective)."""
        values = np.asarray(values)
        if mask is not None:
            values = values[np.asarray(mask, bool)]
        return self._sum(values.sum(axis=0))

    def langevin_heat(self) -> float:
        """Energy added by the Langevin O-steps since creation (collective)."""
        return self._sum(self.langevin_heat_local)

    def nhc_energy(self) -> float:
        """Energy of the Nose-Hoover chain variables (add to KE + PE for the conserved H)."""
        th = self._thermostat
        if not isinstance(th, NoseHooverChain):
            return 0.0
        m = int(th.length)
        st = self._nhc_state
        kT = self._kT()
        q = np.full(m, kT * th.tau ** 2)
        q[0] *= self.dof()
        return float(0.5 * np.sum(q * st[m:2 * m] ** 2) + self.dof() * kT * st[0]
                     + kT * np.sum(st[1:m]))

    @property
    def time(self) -> float:
        return self.step_count * self.dt

    def set_velocities(self, temperature: float, seed: int = 4928459, zero_momentum: bool = True):
        """Maxwell-Boltzmann velocities at exactly ``temperature`` (collective; the draw of
        atom ``id`` depends only on (seed, id), not on the rank layout)."""
        L = self._loc
        g = _ki.gaussians(np.ascontiguousarray(L["ids"]), -1, int(seed))
        mob = L["fixed"] == 0
        kT_mvv = self.units.boltzmann * temperature / self.units.mvv2e
        v = g * np.sqrt(kT_mvv / L["mass"])[:, None]
        v[~mob] = 0.0
        v[:, self.dimension:] = 0.0  # a chain moves along x, a planar lattice in its plane
        if zero_momentum:
            p = self._sum(np.sum(L["mass"][mob, None] * v[mob], axis=0))
            mt = self._sum(float(np.sum(L["mass"][mob])))
            if mt > 0:
                v[mob] -= p / mt
        L["v"][...] = v
        t = self.temperature()
        if t > 0:
            L["v"][...] *= np.sqrt(temperature / t)

    def gather(self, name: str) -> np.ndarray:
        """Global per-atom array ordered by id, on every rank (collective; for I/O and tests)."""
        a = self.f if name == "f" else self._loc[name]
        ids = self._loc["ids"]
        if self.decomp.size > 1:
            parts = self.comm.allgather((ids, np.array(a)))
            ids = np.concatenate([p[0] for p in parts])
            a = np.concatenate([p[1] for p in parts])
        order = np.argsort(ids, kind="stable")
        return np.array(a)[order]

    def check_finite(self) -> None:
        """Raise :class:`SimulationError` (on every rank) if any position/velocity is not finite."""
        bad = int(not (np.all(np.isfinite(self.x)) and np.all(np.isfinite(self.v))))
        if self._sum(bad):
            raise SimulationError(
                f"non-finite positions or velocities at step {self.step_count}: reduce dt "
                "or check the potential and initial overlaps")

    # ------------------------------------------------------------------ checkpoint/restart
    def checkpoint_state(self) -> tuple[dict, dict]:
        """``(arrays, scalars)`` for an exact restart: arrays ``name -> (ids, values)`` of
        this rank (see :mod:`mscouple.atomistic.state`). Local."""
        from .state import checkpoint_state

        return checkpoint_state(self)

    def restore_state(self, take, same_layout: bool | None = None) -> bool:
        """Restore what :meth:`checkpoint_state` wrote, read through a collective
        ``take(name, ids) -> values``; bit-for-bit continuation on the same layout, atoms
        redistributed otherwise (see :mod:`mscouple.atomistic.state`). Collective; returns
        whether the exact path was taken."""
        from .state import restore_state

        return restore_state(self, take, same_layout)

    def _restore_exact(self, loc: dict, xhold: np.ndarray, f: np.ndarray, *, step_count: int,
                       rebuild_count: int, ago: int, forces_valid: bool,
                       energy_valid: bool, weights_active: bool, epot: float,
                       virial: np.ndarray, heat: float, nhc_state: np.ndarray) -> None:
        """Install owned atoms ``loc`` in their stored order and rebuild the ghost plan and
        the neighbour list from ``xhold [n,3]`` (the positions of the last build), exactly
        as the last :meth:`_rebuild` made them; then current positions, forces ``f [n,3]``
        and counters. Collective (ghost plan)."""
        x = np.array(loc["x"])
        loc = dict(loc)
        loc["x"] = np.array(xhold, dtype=float).reshape(-1, 3)
        self._loc = loc
        n = len(loc["ids"])
        nall = self._ghosts_and_list(loc, n)
        # now the current positions, ghosts forwarded as every step does
        self._xall[:n] = x
        self._forward_positions()
        self._weights_active = bool(weights_active)
        if self._weights_active:
            self.decomp.forward(self._wall[:nall])
        self._fall[:n] = f
        self.step_count = int(step_count)
        self.rebuild_count = int(rebuild_count)
        self.reorder_count += 1  # arrays were replaced: views are stale
        self._ago = int(ago)
        self._forces_valid = bool(forces_valid)
        self._energy_valid = bool(energy_valid)
        self._per_atom_valid = False
        self._epot_local = float(epot)
        self._virial_local = np.array(virial, dtype=float)
        self.langevin_heat_local = float(heat)
        self._set_nhc_state(nhc_state)

    def _restore_redistributed(self, loc: dict, *, step_count: int, rebuild_count: int,
                               heat: float, nhc_state: np.ndarray) -> None:
        """Install owned atoms ``loc`` (already on their owner by position), rebuild and
        evaluate forces, energy and virial. Collective."""
        self._loc = {k: np.ascontiguousarray(np.array(a)) for k, a in loc.items()}
        self.rebuild_count = int(rebuild_count)
        self._rebuild()
        self.step_count = int(step_count)
        self.reorder_count += 1
        self.langevin_heat_local = float(heat)
        self._set_nhc_state(nhc_state)
        self._per_atom_valid = False
        self.compute_forces(energy=True, virial=True)

    def _set_nhc_state(self, st: np.ndarray) -> None:
        st = np.asarray(st, dtype=float).reshape(-1)
        if st.shape != self._nhc_state.shape:
            raise ConfigError(f"stored Nose-Hoover chain state has {st.size} values, this "
                              f"system's thermostat {self._nhc_state.size}: restart with the "
                              "thermostat settings of the checkpointed run")
        self._nhc_state = st.copy()


def _allreduce_max(comm, a: np.ndarray) -> np.ndarray:
    from mpi4py import MPI

    out = np.empty_like(a)
    comm.Allreduce(np.ascontiguousarray(a), out, op=MPI.MAX)
    return out


AtomisticPatch = MDSystem
