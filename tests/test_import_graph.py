"""The code's layering, read from the source (lazy imports inside functions count): no import
cycle between files of app/ and models/, the engine and the models import no Qt and nothing of
the GUI or the command line, and models/ stands below the engine."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*(ROOT / "app").rglob("*.py"), *(ROOT / "models").rglob("*.py")]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module → every module it imports: of the project's own (resolved to a file), and the
    top-level names of outside packages (prefixed with '!')."""
    modules = _modules()

    def own(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package this file is in
                    parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parents + ([base] if base else []))
                # `from pkg import submodule` imports the submodule's file
                imported = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in imported:
                resolved = own(target)
                targets.add(resolved if resolved else "!" + target.split(".")[0])
        targets.discard(name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other.startswith("!"):
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "!torch"}}) == [["a", "b", "c"]]


def test_the_engine_and_models_sit_below_the_gui_and_the_command_line():
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith(("app.engine", "models")):
            upward = {t for t in targets if t.startswith(("app.gui", "app.cli", "!PySide6", "!pyqtgraph", "!shiboken6"))}
            assert not upward, f"{name} imports {sorted(upward)}"
        if name.startswith("models"):
            engine = {t for t in targets if t.startswith("app.engine")}
            assert not engine, f"{name} imports {sorted(engine)}: models/ stands below the engine"
