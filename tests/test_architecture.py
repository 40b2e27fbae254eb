"""The layout's promise, checked: apps import the core and never each other; the core imports no app; no cycles.

    public/  api/  exchange/  editorial/      (apps: the site, the open-data API, records in and out, staff)
        \\      |      |       /
                directory/                   (the core: models, querysets, places, hours, translation, services, hsds)

Imports inside functions count (a lazy import is still a dependency); imports under ``if TYPE_CHECKING:`` count for
the direction but not as cycles, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CORE = "directory"
APPS = ("public", "api", "exchange", "editorial")
PACKAGES = (CORE, *APPS)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, bool]]:
    """(imported project module, whether it runs) for every import in the module, nested ones too."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        runs = node.lineno not in type_only if isinstance(node, ast.stmt) else True
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from directory import hours` imports the module directory.hours; `from x import Name` imports x.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target, runs


def graph() -> dict[str, set[tuple[str, bool]]]:
    known = project_modules()
    return {name: set(imports_of(name, path, known)) for name, path in known.items()}


def test_the_core_imports_no_app_and_apps_import_only_the_core():
    wrong = []
    for module, targets in graph().items():
        home = module.split(".")[0]
        for target, _runs in targets:
            other = target.split(".")[0]
            if other in (home, CORE):
                continue
            wrong.append(f"{module} imports {target}")
    assert wrong == [], "imports against the layout's direction:\n" + "\n".join(sorted(wrong))


def test_there_are_no_import_cycles():
    known = set(project_modules())
    edges = {module: {t for t, runs in targets if runs and t in known} for module, targets in graph().items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert cycles == [], "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)


def test_the_checker_sees_an_import_against_the_direction(tmp_path):
    """The check is not vacuous: a core module importing an app is found."""
    known = {"directory.places": tmp_path / "places.py", "public.views": tmp_path / "views.py"}
    source = tmp_path / "places.py"
    source.write_text("def f():\n    from public import views\n")
    assert list(imports_of("directory.places", source, known)) == [("public.views", True)]
