"""core/ is a plain NumPy library: no module in it may import Qt, pyqtgraph or contourpy, and its
parts import one another one way only (data -> models -> landscapes / optimization ->
labs -> io -> experiment)."""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import hillwalk.core

CORE_DIR = Path(hillwalk.core.__file__).parent
FORBIDDEN = ("PyQt6", "PyQt5", "PySide6", "PySide2", "pyqtgraph", "contourpy", "hillwalk.gui")

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


# Modules every part may import: the error type, the table of valid ranges, the checks
# that a path is a regular file (core.io.files imports nothing of core but errors), and
# curvature from any objective's Hessian-vector products (core.curvature: NumPy and
# errors only), which directions (landscapes), Newton (optimization) and labs all use.
TOP_LEVEL_FOR_ALL = ("core.errors", "core.limits", "core.io.files", "core.curvature")


def core_module_names():
    return sorted(m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="hillwalk.core."))


def within_package(module):
    """``hillwalk.core.x`` as ``core.x``: the rules below name core's modules from core."""
    return module.removeprefix("hillwalk.") if module.startswith("hillwalk.core") else module


def core_sources():
    return sorted(CORE_DIR.rglob("*.py"))


def imported_core_modules(path):
    """(line, absolute module name) of every core module ``path`` imports."""
    package = ".".join(("core",) + path.relative_to(CORE_DIR).parent.parts)
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if within_package(alias.name).split(".")[0] == "core":
                    yield node.lineno, within_package(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = within_package(node.module)
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
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith("hillwalk.gui")]
    assert not offenders, f"core pulls in {offenders}"


def test_core_sources_import_only_numpy_the_standard_library_and_core():
    allowed_third_party = {"numpy"}
    stdlib = set(sys.stdlib_module_names)
    for path in core_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside core
                    continue
                modules = [node.module]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                # `from hillwalk import gui` names the package but reaches the GUI
                names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
                own = (module == "hillwalk" and all(name in ("core", "__version__") for name in names)) \
                    or module.startswith("hillwalk.core")
                assert root in stdlib or root in allowed_third_party or own, \
                    f"{path.name}:{node.lineno} imports {module}"


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
                yield node.lineno, within_package(alias.name), [within_package(alias.name)]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            module = within_package(node.module)
            yield node.lineno, module, [module] + [f"{module}.{a.name}" for a in node.names]


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


# The distribution installs one top-level name, hillwalk; the repository's folders are its
# parts. A bare `import core` (or gui, resources, main) works in a checkout by accident of
# the working directory and fails once installed, or imports someone else's `core`.
BARE_NAMES = ("core", "gui", "resources", "main")


def test_everything_imports_the_package_by_its_name():
    root = CORE_DIR.parent
    sources = [root / "main.py", root / "__init__.py", root / "__main__.py"]
    for folder in ("core", "gui", "tests", "tools", "benchmarks"):
        sources += sorted((root / folder).rglob("*.py"))
    offenders = []
    for path in sources:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules = [node.module]
            else:
                modules = []
            offenders += [f"{path.relative_to(root)}:{node.lineno} {m}" for m in modules
                          if m.split(".")[0] in BARE_NAMES]
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "insert" \
                    and ast.unparse(node.func.value) == "sys.path":
                offenders.append(f"{path.relative_to(root)}:{node.lineno} sys.path.insert")
    assert not offenders, f"import hillwalk.<part>, not the bare name: {offenders}"
