"""The tiny cascade → KMC case shared by tests/cascade (5³ cells, 120 eV, Zhou Cu EAM)."""
import os

CU = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy"))


def tiny_case(duration: float = 0.15, head: str = "", tail: str = "") -> str:
    """Case text: ``head`` goes before ``[material]`` (top-level keys), ``tail`` after ``[kmc]``."""
    return f"""{head}
[material]
potential = "{CU}"
atomic_number = 29
a = 3.615

[cascade]
cells = 5
energy = 120.0
direction = [0.13, 0.35, 0.93]
duration = {duration}
xmax = 0.02
frame_every = 0.05
border_width = 2.5
relax_fmax = 0.05

[kmc]
initial_defects = "out/defects_relaxed.txt"
temperature = 300.0
t_end = 1e-6
em_vacancy = 0.551
em_interstitial = 0.1
vacancy_emission = false
seed = 3
{tail}"""
