"""Import hygiene of the package (issue 11).

(a) The graph of module-level imports between ``mscouple`` modules has no cycle: a cycle
    makes import order matter and hides a layering mistake (the former
    ``simulation.py`` ⇄ ``coupling/driver.py`` pair, 19 function-local imports each way,
    was one; the run layer replaced both).
(b) MD ranks never import petsc4py: importing PETSc initialises it on COMM_WORLD before the
    run hands it the continuum communicator. ``mscouple.atomistic`` and the patch side of
    every coupling method must import without it. Checked in a fresh interpreter, since
    this test process has PETSc loaded by other tests.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mscouple"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _module_level_imports(tree: ast.Module):
    """Import nodes executed when the module is imported: the module body and class bodies,
    including ``if``/``try``/``with`` blocks, but not function bodies and not
    ``if TYPE_CHECKING:`` blocks."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """``{module: {mscouple modules it imports at module level}}``, relative imports resolved;
    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = mod.split(".") if is_pkg else mod.split(".")[:-1]
        edges: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = here[: len(here) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:  # `import a.b.c` of a non-module attribute
                    t = t.rpartition(".")[0]
                if t.startswith("mscouple") and t != mod:
                    edges.add(t)
        graph[mod] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_graph_sees_known_edges():
    """The graph builder resolves relative imports (guards against a vacuous pass)."""
    g = import_graph()
    assert len(g) > 50
    assert "mscouple.coupling.exchange" in g["mscouple.coupling.dynamics"]  # from .exchange import …
    assert "mscouple.errors" in g["mscouple.coupling.band"]  # from ..errors import ConfigError
    assert "mscouple.coupling.band" in g["mscouple.validation.wave1d"]


def test_cycle_detection_finds_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]


def test_package_import_graph_has_no_cycle():
    found = cycles(import_graph())
    assert found == [], "import cycles (module-level imports): " + "; ".join(" ⇄ ".join(c) for c in found)


PATCH_SIDE = [
    "mscouple.atomistic",
    "mscouple.coupling",
    "mscouple.coupling.band",
    "mscouple.coupling.geometry",
    "mscouple.coupling.transfer",
    "mscouple.coupling.exchange",
    "mscouple.coupling.routing",
    "mscouple.coupling.bdm",
    "mscouple.coupling.dynamics",
    "mscouple.coupling.damping",
    "mscouple.coupling.thermostat",
    "mscouple.coupling.thermal",
    "mscouple.coupling.ledger",
]


def test_md_side_imports_do_not_import_petsc():
    code = (
        "import importlib, json, sys\n"
        f"mods = {PATCH_SIDE!r}\n"
        "out = {}\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "    out[m] = 'petsc4py' in sys.modules\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=PACKAGE.parent, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(loaded) == set(PATCH_SIDE)
    assert [m for m, petsc in loaded.items() if petsc] == []


def test_petsc_check_would_notice_petsc():
    """The probe is live: the continuum side does import petsc4py in the same set-up."""
    code = "import sys, mscouple.continuum.space; print('petsc4py' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"
