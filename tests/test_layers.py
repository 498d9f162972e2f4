"""The package's layers (issue 26, item 2): no import cycle, even through imports inside
functions, and no module imports from a layer above its own (docs/design.md, Data flow)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import segmint

ROOT = Path(segmint.__file__).parent

# Layer → the layers (top packages or modules of segmint) it must never import.
FORBIDDEN = {
    "io": {"report", "rules", "sequence", "pipeline", "engines", "writing", "profile",
           "lifecycle", "web", "cli", "result"},
    "features": {"report", "profile", "sequence", "pipeline", "engines", "writing", "web"},
    "model": {"report", "profile", "sequence", "pipeline", "engines", "writing", "web",
              "lifecycle"},
    "clv": {"report", "sequence", "pipeline", "engines", "writing", "web"},
    "engines": {"profile", "report", "sequence", "pipeline", "writing", "web", "cli"},
    "measures": {"profile", "report", "sequence", "pipeline", "engines", "writing", "web"},
    "lifecycle": {"report", "writing", "sequence", "pipeline", "web", "cli"},
    "profile": {"report", "writing", "sequence", "pipeline", "engines", "web", "cli"},
    "rules": {"report", "writing", "sequence", "pipeline", "engines", "web", "cli"},
    "report": {"writing", "sequence", "pipeline", "engines", "web", "cli"},
    "sequence": {"writing", "web", "cli", "pipeline"},
}  # fmt: skip


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Return the segmint modules a file imports (at any depth, TYPE_CHECKING aside)."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            names: list[str] = []
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("segmint"):
                names = [f"{child.module}.{a.name}" for a in child.names]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names if a.name.startswith("segmint")]
            for name in names:
                while name not in MODULES and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in MODULES:
                    found.append((name, child.lineno))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


GRAPH = {m: {n for n, _ in _imports(p) if n != m} for m, p in MODULES.items()}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_no_module_imports_from_a_layer_above_it() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) in FORBIDDEN.get(_layer(module), set())
    ]
    assert wrong == []


def test_there_is_no_import_cycle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []
    counter = itertools.count()

    def strong(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            strong(module)
    assert cycles == []


def test_the_checks_see_imports_inside_functions() -> None:
    # the graph is only worth something if it holds the deferred imports too
    assert "segmint.writing.run" in GRAPH["segmint.result"]
