"""Rank layout: the split by role, intercommunicators, and rank plans."""
from __future__ import annotations

import pytest

from mscouple.errors import LayoutError
from mscouple.layout import CONTINUUM, Layout, RankPlan


def test_rank_plan_assigns_continuum_first_then_patches_in_order():
    plan = RankPlan.from_counts(2, {"left": 1, "right": 3})
    assert plan.continuum == (0, 1)
    assert plan.patches == {"left": (2,), "right": (3, 4, 5)}
    assert plan.size == 6
    assert [plan.role_of(r) for r in range(6)] == [CONTINUUM] * 2 + ["left"] + ["right"] * 3


def test_layout_refuses_wrong_rank_count(serial_comm):
    with pytest.raises(LayoutError, match="more than the 1 launched"):
        Layout.build(serial_comm, 1, {"a": 1})


def test_single_rank_pure_md_layout(serial_comm):
    lay = Layout.build(serial_comm, 0, {"box": 1})
    assert lay.role == "box" and lay.comm.Get_size() == 1 and lay.intercomms == {}
    lay.free()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("split", ["1+rest", "rest+1", "1+1+rest"])
def test_split_and_intercomms(comm, split):
    size = comm.Get_size()
    if split == "1+rest":
        cont, patches = 1, {"p": size - 1}
    elif split == "rest+1":
        cont, patches = size - 1, {"p": 1}
    else:
        if size < 3:
            pytest.skip("needs 3 ranks")
        cont, patches = 1, {"a": 1, "b": size - 2}
    lay = Layout.build(comm, cont, patches)
    rank = comm.Get_rank()
    assert lay.role == lay.plan.role_of(rank)
    expected_size = cont if lay.is_continuum else patches[lay.role]
    assert lay.comm.Get_size() == expected_size
    # each intercomm connects this role's group with the right remote group
    if lay.is_continuum:
        assert sorted(lay.intercomms) == sorted(patches)
        for name, ic in lay.intercomms.items():
            assert ic.Get_remote_size() == patches[name]
            # a handshake-like exchange: the continuum root sends its rank count to the patch
            if lay.comm.Get_rank() == 0:
                ic.send(("hello", name, cont), dest=0, tag=7)
    else:
        ic = lay.intercomms[CONTINUUM]
        assert ic.Get_remote_size() == cont
        if lay.comm.Get_rank() == 0:
            msg = ic.recv(source=0, tag=7)
            assert msg == ("hello", lay.role, cont)
    lay.free()
    comm.Barrier()
