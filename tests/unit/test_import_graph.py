"""The house shows the pipeline (DESIGN.md): the package's import graph, built
from the modules' own import statements, has no cycle, and front ends reach
algorithms and kernels only through the engine (``_core``) and planner."""
import ast
import pathlib

import fastconv

ROOT = pathlib.Path(fastconv.__file__).parent

#: engine and lower floors; everything else under fastconv is a front end
ENGINE = ("fastconv._core", "fastconv._config", "fastconv._validate", "fastconv._api",
          "fastconv._nan", "fastconv._pocket", "fastconv.planning", "fastconv.algorithms",
          "fastconv._kernels")
LOW = ("fastconv.algorithms", "fastconv._kernels")

#: support floors that are not front ends: the file formats the CLI reads
#: itself may run a compiled kernel of their own (PNG row unfiltering), never
#: an algorithm
SUPPORT = {"fastconv.io.png16": {"fastconv._kernels.png"}}


def modules():
    out = {}
    for p in ROOT.rglob("*.py"):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def graph():
    mods = modules()
    g = {}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = pkg
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                if node.level == 0:
                    base = node.module or ""
                elif node.module:
                    base = f"{base}.{node.module}"
                for a in node.names:
                    cand = f"{base}.{a.name}"
                    edges.add(cand if cand in mods else base)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
        g[m] = {e for e in edges if e in mods and e != m}
    return g


def cycles(g):
    """Strongly connected components with more than one module."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_graph_sees_imports():
    # the builder itself can fail: it must see edges that are known to exist
    g = graph()
    assert "fastconv._core" in g["fastconv.signal"]
    assert "fastconv.planning.cost" in g["fastconv.planning.planner"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_front_ends_do_not_reach_into_algorithms_or_kernels():
    # (issue 17: the fused image filters, the template-matching window sums
    # and the stream's partitioned convolution are algorithms reached
    # through the engine; none is left)
    g = graph()
    bad = set()
    for m, edges in g.items():
        if m.startswith(ENGINE) or m == "fastconv":
            continue
        for e in edges:
            if e.startswith(LOW) and e not in SUPPORT.get(m, ()):
                bad.add((m, e))
    assert not bad, sorted(bad)
    for m, allowed in SUPPORT.items():     # the exemptions are real and used
        assert allowed <= g[m], (m, g[m])


def test_planner_does_not_import_the_engine():
    g = graph()
    for m in g:
        if m.startswith("fastconv.planning") and m != "fastconv.planning.tune":
            assert "fastconv._core" not in g[m], m


def test_commands_do_not_import_each_other():
    g = graph()
    cmds = [m for m in g if m.startswith("fastconv.cli.") and m != "fastconv.cli._common"]
    for m in cmds:
        assert not (g[m] & set(cmds)), (m, g[m] & set(cmds))
