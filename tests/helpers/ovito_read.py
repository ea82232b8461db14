"""Read a particle file with OVITO and print what it sees as JSON (run in the ovito venv).

Usage: ``python ovito_read.py FILE`` → ``{"frames": [{"positions", "velocities", "ids",
"cell" (3x4: edges and origin), "pbc", "attributes"}, ...]}``.
"""
import json
import sys

import numpy as np
from ovito.io import import_file

pipeline = import_file(sys.argv[1])
frames = []
for k in range(pipeline.source.num_frames):
    d = pipeline.compute(k)
    p = d.particles
    frames.append({
        "positions": np.asarray(p.positions).tolist(),
        "velocities": np.asarray(p.velocities).tolist() if "Velocity" in p else None,
        "ids": np.asarray(p.identifiers).tolist() if "Particle Identifier" in p else None,
        "cell": np.asarray(d.cell).tolist(),
        "pbc": list(d.cell.pbc),
        "attributes": {k: v for k, v in d.attributes.items() if isinstance(v, (int, float, str))},
    })
print(json.dumps({"frames": frames}))
