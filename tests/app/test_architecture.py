"""The core (query language, ledger, facts, evaluation, membership, metrics) stands alone."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "segmentry.language",
    "segmentry.analytics.compiler",
    "segmentry.analytics.asof",
    "segmentry.language.changes",
    "segmentry.ledger.store",
    "segmentry.analytics.facts",
    "segmentry.analytics.evaluation",
    "segmentry.analytics.membership",
    "segmentry.analytics.metrics",
    "segmentry.analytics.journeys",
    "segmentry.analytics.exports",
]
OUTER = ("segmentry.cli", "segmentry.connectors", "segmentry.web", "typer", "fastapi")


def test_core_imports_nothing_from_the_outer_layers() -> None:
    script = (
        "import sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({OUTER!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_services_take_a_context_not_the_workspace_facade() -> None:
    """import-linter ignores imports under TYPE_CHECKING; a service that merely names the facade
    in a type hint would still lean on it, so the source is read here (every import, anywhere)."""
    import ast
    from pathlib import Path

    import segmentry

    package = Path(segmentry.__file__).parent
    edges = {"cli", "web", "bench"}
    offenders = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if (
            relative.parts[0] in edges
            or relative.name == "workspace.py"
            or relative == Path("__init__.py")
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "segmentry.app.workspace":
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []
    # and the check finds what it looks for
    sample = ast.parse("if TYPE_CHECKING:\n    from segmentry.app.workspace import Workspace\n")
    assert any(
        isinstance(n, ast.ImportFrom) and n.module == "segmentry.app.workspace"
        for n in ast.walk(sample)
    )


def _imports_inside_functions(source: str) -> list[tuple[int, str]]:
    import ast

    lines = source.split("\n")
    found = []
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append((node.lineno, lines[node.lineno - 1]))
    return found


def test_no_import_inside_a_function_without_its_reason() -> None:
    """Imports belong at the top of a module; one inside a function must say why on its line
    (``# start-up``: the CLI's lazy loading of the web app and benchmarks, see segmentry.cli;
    ``# NOTE``: another reason, written out)."""
    from pathlib import Path

    import segmentry

    package = Path(segmentry.__file__).parent
    unexplained = [
        f"{path.relative_to(package)}:{line}: {text.strip()}"
        for path in sorted(package.rglob("*.py"))
        for line, text in _imports_inside_functions(path.read_text(encoding="utf-8"))
        if "# start-up" not in text and "# NOTE" not in text
    ]
    assert unexplained == []
    # the scan sees what it looks for
    assert _imports_inside_functions("def f():\n    import os  # start-up\n") == [
        (2, "    import os  # start-up")
    ]


def _cycles(graph: object) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    import grimp

    assert isinstance(graph, grimp.ImportGraph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_between_modules() -> None:
    """The layers contract checks imports between layers; this checks every module, inside a
    layer too (imports for type checking aside, as they are not run)."""
    import grimp

    assert _cycles(grimp.build_graph("segmentry", exclude_type_checking_imports=True)) == []
    # the search finds a cycle where there is one
    sample = grimp.ImportGraph()
    for a, b in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        sample.add_import(importer=a, imported=b)
    assert _cycles(sample) == [["p.a", "p.b", "p.c"]]
