"""The package's layering (CONTRIBUTING.md): world/ at the bottom, no import cycles, modules of a readable size.

Imports are read from the source (every `import` / `from ... import` statement, inside functions too),
so an import hidden in a function body cannot smuggle a cycle or an upward dependency past the test.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mmlearn"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The mmlearn modules a file imports (`from . import x` counts as importing module x if it is one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "mmlearn"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mmlearn":
                continue
            for alias in node.names:  # `from . import retrieval` imports the module mmlearn.retrieval
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
    return out - {name}


GRAPH = {module_name(p): imported_modules(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_graph_sees_the_package():
    assert {"mmlearn.world", "mmlearn.world.scenes", "mmlearn.text", "mmlearn.core"} <= set(GRAPH)
    assert "mmlearn.world.scenes" in GRAPH["mmlearn.world"] and "mmlearn.core" in GRAPH["mmlearn.text"] | GRAPH["mmlearn.datasets"]


def test_world_is_the_bottom_layer():
    upward = {m: sorted(i for i in imps if not i.startswith("mmlearn.world")) for m, imps in GRAPH.items()
              if m.startswith("mmlearn.world")}
    assert not any(upward.values()), f"world/ must import nothing else of mmlearn: {upward}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports between modules, as a list of module names, or None (depth-first search).
    A package's __init__ importing its own submodules is not a cycle of the package's layers."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if n.startswith(m + "."):          # a package re-exporting its submodules
                continue
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_readable(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 460, f"{path.name} has {lines} lines: split it by concern (CONTRIBUTING.md)"


# The layers above world/ (mmlearn/__init__.py's docstring): the shared modules below, the method modules (one per
# notebook topic) above them, the exercises' checkers and the course machinery on top.
METHODS = {"retrieval", "word2vec", "captioning", "gan", "judging", "vqa", "fusion", "soundnet", "localization",
           "separation"}
ON_TOP = {"course", "exercises"}
METHOD_PAIRS = {("gan", "retrieval"), ("judging", "retrieval")}  # 04 draws from and judges by notebook 01's matching model


def short(module: str) -> str:
    return module.removeprefix("mmlearn.") if module != "mmlearn" else ""


def test_shared_modules_never_import_a_method_module():
    shared = {m: imps for m, imps in GRAPH.items() if short(m).split(".")[0] not in METHODS | ON_TOP | {"", "world"}}
    upward = {m: sorted(i for i in imps if short(i) in METHODS) for m, imps in shared.items()}
    assert not any(upward.values()), f"a shared module imports a method module: { {m: i for m, i in upward.items() if i} }"


def test_method_modules_import_each_other_only_through_declared_pairs():
    pairs = {(short(m), short(i)) for m, imps in GRAPH.items() if short(m) in METHODS
             for i in imps if short(i) in METHODS}
    assert pairs <= METHOD_PAIRS, f"undeclared imports between method modules: {sorted(pairs - METHOD_PAIRS)}"


def test_nothing_below_the_course_machinery_imports_it():
    # mmlearn/__init__ hands the notebooks `report` (their last cell: `from mmlearn import report`)
    below = {m: sorted(i for i in imps if short(i).split(".")[0] in ON_TOP) for m, imps in GRAPH.items()
             if short(m).split(".")[0] not in ON_TOP}
    below["mmlearn"] = [i for i in below.get("mmlearn", []) if i != "mmlearn.course.report"]
    assert not any(below.values()), f"a lesson module imports the course machinery: { {m: i for m, i in below.items() if i} }"
