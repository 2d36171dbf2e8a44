"""core/ is a plain NumPy library: no module in it may import Qt or pyqtgraph, and its
parts import one another one way only (data -> models -> landscapes / optimization ->
labs -> io -> experiment)."""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

CORE_DIR = Path(core.__file__).parent
FORBIDDEN = ("PyQt6", "PyQt5", "PySide6", "PySide2", "pyqtgraph", "gui")

# Which parts of core each part may import (besides itself, core.errors and the top-level
# modules listed in TOP_LEVEL_MAY_IMPORT_ALL).
ALLOWED_PARTS = {
    "data": set(),
    "models": {"data"},
    "landscapes": {"data", "models"},
    "optimization": set(),
    "labs": {"data", "models", "landscapes", "optimization"},
    "io": {"data", "models", "landscapes", "optimization", "labs"},
}


# Modules every part may import: the error type, the table of valid ranges, and the checks
# that a path is a regular file (core.io.files imports nothing of core but errors).
TOP_LEVEL_FOR_ALL = ("core.errors", "core.limits", "core.io.files")


def core_module_names():
    return sorted(m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="core."))


def core_sources():
    return sorted(CORE_DIR.rglob("*.py"))


def imported_core_modules(path):
    """(line, absolute module name) of every core module ``path`` imports."""
    package = ".".join(("core",) + path.relative_to(CORE_DIR).parent.parts)
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "core":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            if module.split(".")[0] == "core":
                yield node.lineno, module


def part_of(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED_PARTS) else None


def test_importing_every_core_module_loads_no_qt():
    code = ("import importlib, json, sys\n"
            f"for name in {core_module_names()!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=CORE_DIR.parent)
    loaded = json.loads(result.stdout)
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert not offenders, f"core pulls in {offenders}"


def test_core_sources_import_only_numpy_the_standard_library_and_core():
    allowed_third_party = {"numpy"}
    stdlib = set(sys.stdlib_module_names)
    for path in core_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside core
                    continue
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in stdlib or root in allowed_third_party or root == "core", \
                    f"{path.name}:{node.lineno} imports {root}"


def test_core_parts_import_one_way():
    every_part = set(ALLOWED_PARTS)
    assert {p.name for p in CORE_DIR.iterdir() if (p / "__init__.py").exists()} == every_part, \
        "a new part of core needs its place in ALLOWED_PARTS"
    for path in core_sources():
        relative = path.relative_to(CORE_DIR)
        own = relative.parts[0] if len(relative.parts) > 1 else None
        if own is None:
            continue  # core.errors and the experiment layer sit outside the parts
        for line, module in imported_core_modules(path):
            target = part_of(module)
            if module in TOP_LEVEL_FOR_ALL or target is None or target == own:
                if target is None and module not in ("core", *TOP_LEVEL_FOR_ALL):
                    raise AssertionError(f"{relative}:{line} imports the top-level {module}")
                continue
            assert target in ALLOWED_PARTS[own], f"{relative}:{line}: core.{own} may not import {module}"


# Panels are views: they edit the state and draw its results. These modules compute, so a
# panel importing one has a second road to core (labs' tasks run through gui/lab_state.py).
PANEL_FORBIDDEN = ("core.labs", "core.landscapes.landscape", "core.landscapes.centers", "core.labs.gradcheck",
                   "core.models.objectives", "core.models.network")
# Panels outside the labs that still import one, each to be moved onto the state by its
# owner; the entry must go when the import does (the test fails on a stale entry too).
PANELS_NOT_YET_VIEWS = {}


def panel_imports(path):
    """(line, module, what it may reach) of every absolute import of a gui/panels file:
    ``from core.labs import tasks`` names core.labs and reaches core.labs.tasks too."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, [alias.name]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.lineno, node.module, [node.module] + [f"{node.module}.{a.name}" for a in node.names]


def test_panels_import_no_computing_part_of_core():
    panels_dir = CORE_DIR.parent / "gui" / "panels"
    found = {}
    for path in sorted(panels_dir.glob("*.py")):
        for line, module, reached in panel_imports(path):
            if any(m == f or m.startswith(f + ".") for m in reached for f in PANEL_FORBIDDEN):
                found.setdefault(path.name, {})[module] = line
    pending = {name: set(modules) for name, modules in found.items() if name in PANELS_NOT_YET_VIEWS}
    offenders = {name: modules for name, modules in found.items() if name not in PANELS_NOT_YET_VIEWS}
    assert not offenders, f"panels importing core's computing modules (ask the state instead): {offenders}"
    assert not any(name.startswith("lab_") for name in PANELS_NOT_YET_VIEWS)
    assert pending == {name: modules for name, modules in PANELS_NOT_YET_VIEWS.items()}, \
        "PANELS_NOT_YET_VIEWS lists an import that is gone: remove its entry"
