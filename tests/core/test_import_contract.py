"""core/ is a plain NumPy library: no module in it may import Qt or pyqtgraph."""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

CORE_DIR = Path(core.__file__).parent
FORBIDDEN = ("PyQt6", "PyQt5", "PySide6", "PySide2", "pyqtgraph", "gui")


def core_module_names():
    return sorted(f"core.{m.name}" for m in pkgutil.iter_modules([str(CORE_DIR)]))


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
    for path in CORE_DIR.glob("*.py"):
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
