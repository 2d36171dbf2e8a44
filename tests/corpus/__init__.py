"""The corpus of bad inputs: every kind of bad file, value, session and failed write that
Hillwalk must answer with one clear message, leaving everything as it was.

Each case is a :class:`BadInput`; the cases live in this package's modules by kind
(``data_files``, ``values``, ``sessions``, ``outputs``, ``verdicts``) and make their files
when a test (or ``python -m tools.make_bad_inputs FOLDER``) runs them: nothing binary is
checked in. ``tests/core/test_bad_inputs_cli.py`` runs every case that has a command line
through ``main.main`` and ``tests/gui/test_bad_inputs_window.py`` every case that has a
window action through the window.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

KINDS = ("data", "value", "session", "output", "verdict")
MODULES = ("data_files", "values", "sessions", "outputs", "verdicts")


@dataclass(frozen=True)
class BadInput:
    """One bad input.

    Attributes
    ----------
    name : str
        Unique id (the test id).
    kind : one of KINDS
    what : str
        The bad input in words.
    message : str
        Text the one-line message must contain (case-insensitive).
    cli : callable(Place) -> list of str, or None
        Makes the case's files in ``place.folder`` and returns the command line's
        arguments (without ``python main.py``). The run must exit with ``exit_status``
        and print exactly one line on stderr (``hillwalk: error: ...`` for status 2),
        nothing on stdout for status 2, no warning, and leave ``place.folder`` as it
        was just before the run.
    window : callable(Place) -> callable(window), or None
        Makes the case's files and returns the action that drives the main window the
        way a person would; after it the window must show one message containing
        ``message`` and keep its state, picture and the folder as they were.
    exit_status : int
        2 for a refused input; 1 for a check that must fail (a lying verdict).
    needs : "" | "full-disk" | "read-only"
        The case runs in a small tmpfs (skipped where it cannot be mounted); the case
        calls ``place.fill_disk()`` or ``place.make_read_only()`` when its own files are
        in place.
    """

    name: str
    kind: str
    what: str
    message: str
    cli: Callable | None = None
    window: Callable | None = None
    exit_status: int = 2
    needs: str = ""

    def __post_init__(self):
        assert self.kind in KINDS, self.kind
        assert self.needs in ("", "full-disk", "read-only"), self.needs
        assert self.cli is not None or self.window is not None, self.name


class Place:
    """The folder a case runs in; for ``needs`` cases a small tmpfs this object mounted."""

    def __init__(self, folder: Path, mounted: bool = False):
        self.folder = Path(folder)
        self.mounted = mounted

    def listing(self) -> dict:
        """{relative path: (size, mtime_ns)} of everything under the folder."""
        found = {}
        for path in sorted(self.folder.rglob("*")):
            status = path.lstat()
            found[str(path.relative_to(self.folder))] = (status.st_size, status.st_mtime_ns)
        return found

    def fill_disk(self):
        """Fill the tmpfs to the last byte."""
        assert self.mounted, "fill_disk needs a case with needs='full-disk'"
        # unbuffered: a buffered file keeps the bytes a full disk refused and raises
        # ENOSPC again when it is closed
        with open(self.folder / "filler", "wb", buffering=0) as handle:
            block = b"\0" * 65536
            with contextlib.suppress(OSError):
                while handle.write(block):
                    pass
            with contextlib.suppress(OSError):  # the last partial block
                while handle.write(b"\0"):
                    pass

    def make_read_only(self):
        assert self.mounted, "make_read_only needs a case with needs='read-only'"
        subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True, capture_output=True)


@contextlib.contextmanager
def place_for(case: BadInput, tmp_path: Path, size_kb: int = 4096):
    """A :class:`Place` for ``case``: ``tmp_path`` itself, or a tmpfs mounted on a
    folder in it (raises ``PlaceUnavailable`` with the reason when mounting fails)."""
    if not case.needs:
        yield Place(tmp_path)
        return
    folder = tmp_path / "tmpfs"
    folder.mkdir()
    if os.geteuid() != 0:
        raise PlaceUnavailable("mounting a tmpfs needs root")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        raise PlaceUnavailable("no mount command on this machine")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise PlaceUnavailable(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield Place(folder, mounted=True)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


class PlaceUnavailable(Exception):
    """The machine cannot give a case its folder (no root, no tmpfs)."""


def all_cases() -> list[BadInput]:
    cases = []
    for module_name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{module_name}":
                raise
            continue
        cases.extend(module.CASES)
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"duplicate case names {duplicates}"
    return cases


def cli_cases():
    return [c for c in all_cases() if c.cli is not None]


def window_cases():
    return [c for c in all_cases() if c.window is not None]
