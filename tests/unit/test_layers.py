"""The import rules of the house: dependencies point one way, and no module imports itself through others.

Every import counts, including those inside functions: a cycle that holds only because one side imports
late is still a cycle a reader must untangle. And they stand at the top of the module (only the command line
imports inside its command functions). A new package or a new arrow between packages needs a line in
``ALLOWED`` (and a reason in docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "actions", "channels", "components")

# unit -> the units it may import. A unit is a package under bot/, or a top-level package.
FOUNDATION = {"bot.platform", "bot.store", "bot.language"}
ALLOWED: dict[str, set[str]] = {
    "bot.language": set(),
    "bot.platform": {"bot.language"},
    "bot.store": {"bot.platform"},
    "bot.staff": FOUNDATION,
    "bot.providers": FOUNDATION,
    "bot.billing": FOUNDATION | {"bot.providers"},
    "bot.messaging": FOUNDATION | {"bot.providers", "bot.billing"},
    "bot.conversation": FOUNDATION | {"bot.billing", "bot.messaging"},
    "bot.lifecycle": FOUNDATION | {"bot.billing"},
    "bot.outreach": FOUNDATION | {"bot.billing", "bot.messaging", "bot.conversation", "bot.lifecycle"},
    "bot.desk": FOUNDATION | {"bot.billing", "bot.messaging", "bot.conversation"},
    "bot.review": FOUNDATION,
    "bot.demo": FOUNDATION | {"bot.billing", "bot.conversation", "bot.staff"},
    # the entry points: thin, over the services; never over each other
    "bot.web": FOUNDATION
    | {"bot.providers", "bot.billing", "bot.messaging", "bot.conversation", "bot.desk", "bot.review", "bot.outreach"}
    | {"bot.staff", "bot.lifecycle"},
    "bot.worker": FOUNDATION
    | {"bot.providers", "bot.billing", "bot.messaging", "bot.conversation", "bot.outreach", "bot.review"}
    | {"bot.lifecycle"},
    "bot.__main__": set(),  # the command line may start anything (filled in below)
    "actions": FOUNDATION | {"bot.billing", "bot.conversation", "bot.desk"},
    "channels": set(),  # runs inside the Rasa server: Rasa and the standard library only
    "components": set(),  # runs inside the Rasa server
}
ALLOWED["bot.__main__"] = {u for u in ALLOWED if u.startswith("bot.") and u != "bot.__main__"}


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in SOURCES:
        return None
    if parts[0] != "bot":
        return parts[0]
    return "bot." + parts[1] if len(parts) > 1 else "bot"


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for source in SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_of(path)] = path
    return found


MODULES = project_modules()


def imports_of(path: Path) -> set[str]:
    """The project modules ``path`` imports, wherever the import stands (``from a import b`` counts ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            names = [n if n in MODULES else node.module for n in names]
        else:
            continue
        found |= {n for n in names if n in MODULES}
    return found


GRAPH = {module: imports_of(path) for module, path in MODULES.items()}


def test_every_unit_has_a_rule():
    units = {unit_of(m) for m in MODULES} - {"bot"}
    assert units <= set(ALLOWED), f"new packages need a rule in ALLOWED: {sorted(units - set(ALLOWED))}"


def test_dependencies_point_one_way():
    breaches = []
    for module, targets in GRAPH.items():
        source = unit_of(module)
        for target in targets:
            to = unit_of(target)
            if to in (source, "bot") or source == "bot":
                continue
            if to not in ALLOWED.get(source, set()):
                breaches.append(f"{module} -> {target}")
    assert not breaches, "imports against the layers:\n" + "\n".join(sorted(breaches))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others():
    graph = {m: {t for t in ts if t != m and not m.startswith(t + ".")} for m, ts in GRAPH.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


# Where an import of the project may stand inside a function: the command line loads only what its command needs.
LATE_IMPORTS_ALLOWED = {"bot.__main__"}


def late_imports_of(path: Path) -> list[str]:
    """The project imports ``path`` makes inside a function body, as ``line: statement``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = [a.name for a in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                names = [inner.module]
            else:
                continue
            if any(unit_of(n) is not None for n in names):
                found.append(f"{inner.lineno}: {ast.unparse(inner)}")
    return sorted(set(found))


def test_imports_of_the_project_stand_at_the_top():
    """A module's dependencies are read in one place: its head. An import inside a function once held a cycle
    together; with none left, a late one only hides a dependency."""
    late = [
        f"{module}:{line}"
        for module, path in MODULES.items()
        if module not in LATE_IMPORTS_ALLOWED
        for line in late_imports_of(path)
    ]
    assert not late, "imports inside functions:\n" + "\n".join(late)


def test_web_and_worker_never_import_each_other():
    crossed = [
        f"{m} -> {t}" for m, ts in GRAPH.items() for t in ts if {unit_of(m), unit_of(t)} == {"bot.web", "bot.worker"}
    ]
    assert not crossed


@pytest.mark.parametrize("unit", ["channels", "components"])
def test_code_that_runs_inside_rasa_imports_nothing_of_the_services(unit):
    leaks = [f"{m} -> {t}" for m, ts in GRAPH.items() if unit_of(m) == unit for t in ts if unit_of(t) != unit]
    assert not leaks


def test_the_checker_sees_a_cycle_and_a_breach():
    """The rules above must be able to fail: a made-up graph with both faults is caught."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert "bot.web" not in ALLOWED["bot.billing"]


def test_the_architecture_page_names_every_package():
    """docs/architecture.md is where a newcomer looks for a rule's folder: it must know every folder."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    packages = sorted({m.split(".")[1] for m in MODULES if m.startswith("bot.") and m.count(".") >= 2})
    missing = [p for p in packages if f"{p}/" not in page]
    assert not missing, f"docs/architecture.md does not place: {missing}"
