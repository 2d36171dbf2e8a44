"""Hillwalk installs as one package, ``hillwalk``: the wheel built from the repository holds
no other top-level name, carries its data, presets and licence, and runs from its installed
place even in a folder that has a ``core``, ``gui`` and ``main.py`` of its own.

The wheel is built offline from a copy of the tracked sources (``--no-build-isolation``: the
test extra installs setuptools and wheel), so a stale ``build/`` folder cannot leak into it."""
import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hillwalk

ROOT = Path(hillwalk.__file__).resolve().parent
# tests/, tools/, benchmarks/ and docs/ are the repository's, not the package's
SOURCES = ("__init__.py", "__main__.py", "main.py", "blas_setup.py", "pyproject.toml", "README.md", "LICENSE",
           "core", "gui", "resources")
# building and installing a small wheel takes seconds; a slow, busy machine many times that
PIP_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """(path of the built wheel, what the build printed)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                            "--disable-pip-version-check", "-w", str(out), str(source)],
                           capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (path,) = out.glob("hillwalk-*.whl")
    return path, build.stdout + build.stderr


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A folder the wheel was installed into (``pip install --target``)."""
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                             "--disable-pip-version-check", "--target", str(target), str(wheel[0])],
                            capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return target


def test_the_wheel_adds_one_top_level_name(wheel):
    path, _ = wheel
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        top_level = archive.read(next(n for n in names if n.endswith(".dist-info/top_level.txt"))).decode()
    assert {name.split("/")[0] for name in names} == {"hillwalk", f"hillwalk-{hillwalk.__version__}.dist-info"}
    assert top_level.split() == ["hillwalk"]
    packages = {name.rsplit("/", 1)[0] for name in names if name.startswith("hillwalk/")}
    assert {"hillwalk", "hillwalk/core", "hillwalk/gui", "hillwalk/gui/panels", "hillwalk/resources"} <= packages
    assert not any(part in ("tests", "tools", "benchmarks") for name in names for part in name.split("/"))


def test_the_wheel_carries_data_presets_licence_and_entry_points(wheel):
    path, build_output = wheel
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        info = f"hillwalk-{hillwalk.__version__}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
    shipped = {p.name for p in (ROOT / "resources").glob("*.npz")} | {"README.md"}
    assert {f"hillwalk/resources/{name}" for name in shipped} <= names
    presets = sorted((ROOT / "resources" / "presets").glob("*.hillwalk.json"))
    assert len(presets) >= 10 and {f"hillwalk/resources/presets/{p.name}" for p in presets} <= names
    # the declared licence and the file agree
    assert metadata["License-Expression"] == "MIT" and licence.startswith("MIT License")
    assert metadata["Version"] == hillwalk.__version__
    assert "hillwalk = hillwalk.main:main" in entry_points.split("[gui_scripts]")[0]  # a console script
    assert "[gui_scripts]" in entry_points
    # setuptools used to warn that resources/presets was installed as data, not as a package
    assert "presets" not in "\n".join(line for line in build_output.splitlines() if "warn" in line.lower())
    assert "SetuptoolsDeprecationWarning" not in build_output


@pytest.fixture
def folder_with_decoys(tmp_path):
    """A working directory whose ``core``, ``gui``, ``resources`` and ``main`` would break
    anything that imported those bare names."""
    for name in ("core", "gui", "resources"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the decoy {name} was imported')\n")
    (tmp_path / "main.py").write_text("raise SystemExit('the decoy main.py was imported')\n")
    return tmp_path


def run_installed(installed, cwd, *args):
    # only the installed copy is on the path (the editable checkout comes later, by its
    # finder, and is never reached when the installed package is found first)
    env = {"PYTHONPATH": str(installed), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
           "HOME": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def test_the_installed_package_ignores_a_core_folder_in_the_working_directory(installed, folder_with_decoys):
    code = ("import hillwalk, hillwalk.core.limits, hillwalk.core.data.datasets as d, hillwalk.gui.main_window as w\n"
            "print(hillwalk.__file__); print(hillwalk.core.limits.__file__)\n"
            "print(d.load_embedded('iris').X.shape); print(len(w.preset_paths())); print(w.preset_paths()[0])\n")
    result = run_installed(installed, folder_with_decoys, "-c", code)
    assert result.returncode == 0, result.stderr
    package_file, limits_file, iris_shape, preset_count, first_preset = result.stdout.splitlines()
    assert Path(package_file).is_relative_to(installed) and Path(limits_file).is_relative_to(installed)
    assert iris_shape == "(150, 4)"  # the shipped data, found through importlib.resources
    assert int(preset_count) >= 10 and Path(first_preset).is_relative_to(installed)


def test_python_m_hillwalk_runs_the_command_line_from_the_installed_package(installed, folder_with_decoys):
    version = run_installed(installed, folder_with_decoys, "-m", "hillwalk", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"hillwalk {hillwalk.__version__}"
    helped = run_installed(installed, folder_with_decoys, "-m", "hillwalk", "--help")
    assert helped.returncode == 0 and "render" in helped.stdout and "gradcheck" in helped.stdout
    checked = run_installed(installed, folder_with_decoys, "-m", "hillwalk", "gradcheck", "--dataset", "iris")
    assert checked.returncode == 0, checked.stderr
    assert "PASS" in checked.stdout
