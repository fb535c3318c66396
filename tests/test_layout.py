"""The package's rooms keep to their names (README, *Layout*), checked on the source with ``ast``:

- no module imports a ``_private`` name from another cevns_bayes module (a helper two modules
  share is public, in the module it belongs to);
- the cevns_bayes modules import each other without cycles, counting every ``import`` and
  ``from ... import`` anywhere in a file (a function-level import is an edge too);
- matplotlib is imported only in ``cevns_bayes/plots/`` and in ``cevns_bayes/output.py`` (which
  saves and closes the figures it is given).

(The physics conventions are in tests/test_conventions.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cevns_bayes"

#: Modules outside plots/ that may import matplotlib
MATPLOTLIB_ALLOWED = {"cevns_bayes.output"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str) -> str | None:
    """The cevns_bayes module that ``name`` (a dotted import target) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _source_of(module: str, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str):
    """Every import in ``module``'s file: (line, imported module, imported name or None)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            source = _source_of(module, node)
            for alias in node.names:
                yield node.lineno, source, alias.name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        deps = set()
        for _, source, name in _imports(module):
            if not source.startswith("cevns_bayes"):
                continue
            target = f"{source}.{name}" if name and f"{source}.{name}" in MODULES else source
            owner = _owner(target)
            if owner and owner != module:
                deps.add(owner)
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_its_rooms():
    assert {"cevns_bayes.inference.bayes", "cevns_bayes.workflows.analysis"} <= set(MODULES)
    assert len(MODULES) > 30


def test_no_private_name_is_imported_from_another_module():
    bad = []
    for module in MODULES:
        for line, source, name in _imports(module):
            if not source.startswith("cevns_bayes") or name is None:
                continue
            private = name.startswith("_") and not name.startswith("__")
            if private and _owner(source) != module:
                bad.append(
                    f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {name} from {source}"
                )
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles between cevns_bayes modules: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_cycle_check_sees_function_level_imports():
    """A cycle made only by imports inside functions is found: a function-level import of
    the API from the statistical model (which the API imports) would close one."""
    graph = _graph()
    graph["cevns_bayes.model.statistical"].add("cevns_bayes.api")
    assert _cycles(graph), "a function-level back edge should make a cycle"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_matplotlib_only_in_plots_and_output():
    bad = []
    for module in MODULES:
        if module.startswith("cevns_bayes.plots.") or module in MATPLOTLIB_ALLOWED:
            continue
        for line, source, _ in _imports(module):
            if source.split(".")[0] == "matplotlib":
                bad.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}")
    assert not bad, "matplotlib imported outside cevns_bayes/plots/: " + ", ".join(bad)


def test_inference_holds_the_statistics_only():
    """inference/ writes no files and draws no figures: it imports neither the output layer,
    the plots nor the workflows."""
    graph = _graph()
    for module in MODULES:
        if module.startswith("cevns_bayes.inference."):
            leaks = {
                d
                for d in graph[module]
                if d == "cevns_bayes.output"
                or d.startswith(("cevns_bayes.plots", "cevns_bayes.workflows"))
            }
            assert not leaks, f"{module} imports {sorted(leaks)}"
