"""Layout: split the launched ranks by role, once, at start-up.

``COMM_WORLD`` (or whatever communicator the launcher gives) is split into one continuum
communicator and one communicator per atomistic patch, with an intercommunicator between
the continuum and each patch (handshake traffic only)::

    world ──Split(color=role)──► continuum comm   (PETSc objects live here)
                               ► patch comm k     (MD domain decomposition lives here)
    continuum ◄──intercomm k──► patch k

Ranks are assigned in order: continuum first, then the patches in the order of
``[layout.patches]``. An MPMD launch (``mpirun -n 2 mscouple run c.toml : -n 2 mscouple run
c.toml``) gives the same layout; the application contexts (``MPI.APPNUM``) are checked
against it. This module and :mod:`mscouple.cli` are the only places that see the world
communicator; everything else receives the communicator it should use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import LayoutError

CONTINUUM = "continuum"


@dataclass(frozen=True)
class RankPlan:
    """Which world ranks run which role (pure data: computed without MPI)."""

    continuum: tuple[int, ...]
    patches: dict[str, tuple[int, ...]]

    @classmethod
    def from_counts(cls, continuum: int, patches: dict[str, int]) -> "RankPlan":
        start = continuum
        out = {}
        for name, n in patches.items():
            out[name] = tuple(range(start, start + n))
            start += n
        return cls(tuple(range(continuum)), out)

    @property
    def size(self) -> int:
        return len(self.continuum) + sum(len(r) for r in self.patches.values())

    def role_of(self, rank: int) -> str:
        if rank in self.continuum:
            return CONTINUUM
        for name, ranks in self.patches.items():
            if rank in ranks:
                return name
        raise LayoutError(f"rank {rank} has no role in a layout of {self.size} ranks")

    def describe(self) -> list[str]:
        """Human-readable lines: 'continuum: ranks 0-1', 'patch core: ranks 2-3'."""
        lines = []
        if self.continuum:
            lines.append(f"continuum      : {_span(self.continuum)}")
        for name, ranks in self.patches.items():
            lines.append(f"patch {name:<9}: {_span(ranks)}")
        return lines


def _span(ranks) -> str:
    r = list(ranks)
    if not r:
        return "no ranks"
    word = "rank" if len(r) == 1 else "ranks"
    if r == list(range(r[0], r[-1] + 1)) and len(r) > 1:
        return f"{word} {r[0]}-{r[-1]} ({len(r)})"
    return f"{word} {', '.join(map(str, r))} ({len(r)})"


@dataclass
class Layout:
    """The communicators of one rank: its role, its role's comm, and its intercomms.

    Attributes:
        world: the communicator the layout was split from.
        plan: the rank plan (same on every rank).
        role: ``"continuum"`` or a patch name.
        comm: this rank's role communicator (continuum comm or its patch's comm).
        intercomms: continuum ranks: ``{patch name: intercomm}``; patch ranks:
            ``{"continuum": intercomm}`` (absent when the case has no continuum).
    """

    world: Any
    plan: RankPlan
    role: str
    comm: Any
    intercomms: dict[str, Any] = field(default_factory=dict)

    @property
    def is_continuum(self) -> bool:
        return self.role == CONTINUUM

    @classmethod
    def build(cls, world: Any, continuum: int, patches: dict[str, int]) -> "Layout":
        """Split *world* by role. Collective on *world*; every rank passes the same counts."""
        plan = RankPlan.from_counts(continuum, dict(patches))
        size = world.Get_size()
        if plan.size != size:
            more = "more" if plan.size > size else "fewer"
            raise LayoutError(
                f"layout asks for {plan.size} ranks ({continuum} continuum + "
                f"{' + '.join(f'{n} {k}' for k, n in patches.items()) or 'no patches'}), "
                f"{more} than the {size} launched: run with 'mpirun -n {plan.size}' "
                f"or change [layout]"
            )
        _check_mpmd(world, plan)
        rank = world.Get_rank()
        role = plan.role_of(rank)
        roles = ([CONTINUUM] if plan.continuum else []) + list(plan.patches)
        color = roles.index(role)
        comm = world.Split(color, rank)
        inter: dict[str, Any] = {}
        if plan.continuum:
            # Intercomms are created in patch order; each patch's creation involves the
            # continuum group and that patch's group only, so the sequence cannot deadlock.
            for k, (name, ranks) in enumerate(plan.patches.items()):
                if role == CONTINUUM:
                    inter[name] = comm.Create_intercomm(0, world, ranks[0], tag=100 + k)
                elif role == name:
                    inter[CONTINUUM] = comm.Create_intercomm(0, world, plan.continuum[0], tag=100 + k)
        return cls(world, plan, role, comm, inter)

    def free(self) -> None:
        """Free the communicators this layout created (collective)."""
        for ic in self.intercomms.values():
            ic.Free()
        self.intercomms.clear()
        if self.comm is not None:
            self.comm.Free()
            self.comm = None


def _check_mpmd(world: Any, plan: RankPlan) -> None:
    """Under an MPMD launch, each application context must cover whole roles."""
    try:
        from mpi4py import MPI

        appnum = world.Get_attr(MPI.APPNUM)
    except Exception:  # pragma: no cover - attribute not provided
        appnum = None
    apps = world.allgather(appnum if appnum is not None else 0)
    if len(set(apps)) <= 1:
        return
    # Roles in rank order; every role's ranks must share one app, and apps must not mix roles.
    roles = [plan.role_of(r) for r in range(plan.size)]
    for a in sorted(set(apps)):
        rs = {roles[r] for r in range(plan.size) if apps[r] == a}
        if len(rs) > 1 and CONTINUUM in rs:
            raise LayoutError(
                f"MPMD launch: application {a} has ranks of the continuum and of patch(es) "
                f"{sorted(rs - {CONTINUUM})}; give the continuum its own '-n {len(plan.continuum)}' block"
            )
    for role in set(roles):
        ra = {apps[r] for r in range(plan.size) if roles[r] == role}
        if len(ra) > 1:
            raise LayoutError(
                f"MPMD launch: the ranks of {role!r} span applications {sorted(ra)}; "
                f"launch blocks must match [layout]"
            )
