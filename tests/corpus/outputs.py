"""Writes that cannot succeed: every file Hillwalk writes, into a full disk and into a
read-only folder (both a small tmpfs). Each must give one message and leave the folder
exactly as it was: no partial file, no temporary, and an existing file of the same name
keeps its bytes.

The command-line cases write with small settings (a 5 x 5 slice, a few steps, a 2-frame
GIF) so that the failure, not the computation, is what the case spends its time on. The
window cases drive File > Export and File > Save session with the file dialog answered
the way a person would answer it.
"""
from __future__ import annotations

import contextlib

from . import BadInput

FULL = "the disk is full"
READ_ONLY = "read-only"
# what an existing file holds before a failed write; the listing's size and mtime must stay
OLD_BYTES = b"the user's previous file: keep me\n"


def _prepare(place, name, needs, existing):
    """The file an earlier run left (``existing``), then the full disk or read-only folder."""
    target = place.folder / name
    if existing:
        target.write_bytes(OLD_BYTES)
    if needs == "full-disk":
        place.fill_disk()
    else:
        place.make_read_only()
    return target


RENDER = ["render", "--grid", "5", "--train-steps", "1", "--png-size", "300x240"]
TRACE = ["trace", "--steps", "10", "--png-size", "300x240"]
RACE = ["race", "--frames", "2", "--gif-size", "200x200", "--fps", "5"]
SCREENSHOT = ["--size", "400x300"]


def _cli_case(label, command, name, needs, existing):
    def cli(place):
        target = _prepare(place, name, needs, existing)
        if command is SCREENSHOT:
            return ["--screenshot", str(target), *SCREENSHOT]
        return [*command, "--out", str(target)]

    old = "over an existing file" if existing else "as a new file"
    where = "a full disk" if needs == "full-disk" else "a read-only folder"
    return BadInput(f"output-{label}-{needs}", "output", f"{label} writes {name} {old} on {where}",
                    FULL if needs == "full-disk" else READ_ONLY, cli=cli, needs=needs)


CLI_WRITERS = [("render-npz", RENDER, "slice.npz"), ("render-csv", RENDER, "slice.csv"),
               ("render-png", RENDER, "slice.png"), ("trace-csv", TRACE, "path.csv"),
               ("trace-npz", TRACE, "path.npz"), ("trace-png", TRACE, "path.png"),
               ("race-gif", RACE, "race.gif"), ("screenshot", SCREENSHOT, "shot.png")]

CASES = []
for _label, _command, _name in CLI_WRITERS:
    # full disk: an earlier file of that name must keep its bytes; read-only: nothing may appear
    CASES.append(_cli_case(_label, _command, _name, "full-disk", existing=True))
    CASES.append(_cli_case(_label, _command, _name, "read-only", existing=False))
# a new file on a full disk: no partial file may be left behind either
CASES.append(_cli_case("render-csv-new", RENDER, "new.csv", "full-disk", existing=False))
CASES.append(_cli_case("race-gif-new", RACE, "new.gif", "full-disk", existing=False))


# ---------------------------------------------------------------- the window
@contextlib.contextmanager
def _dialogs_answer(path, numbers=()):
    """QFileDialog.getSaveFileName answers ``path`` and QInputDialog.getInt the
    ``numbers`` in turn, as a person typing them would; restored afterwards (the window
    runner shares one window among all cases)."""
    from PyQt6 import QtWidgets

    answers = list(numbers)
    saved = QtWidgets.QFileDialog.__dict__["getSaveFileName"], QtWidgets.QInputDialog.__dict__["getInt"]
    QtWidgets.QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(path), ""))
    QtWidgets.QInputDialog.getInt = staticmethod(lambda *a, **k: (answers.pop(0), True))
    try:
        yield
    finally:
        QtWidgets.QFileDialog.getSaveFileName, QtWidgets.QInputDialog.getInt = saved


def _menu_action(window, *texts):
    """The action reached through the menu bar by ``texts`` ("&File", "Export", ...)."""
    actions = window.menuBar().actions()
    for text in texts[:-1]:
        actions = next(a for a in actions if a.text() == text).menu().actions()
    return next(a for a in actions if a.text() == texts[-1])


def _window_case(label, menu, name, needs, existing, numbers=()):
    def prepare(place):
        target = _prepare(place, name, needs, existing)

        def act(window):
            with _dialogs_answer(target, numbers):
                _menu_action(window, "&File", *menu).trigger()
        return act

    old = "over an existing file" if existing else "as a new file"
    where = "a full disk" if needs == "full-disk" else "a read-only folder"
    return BadInput(f"output-window-{label}-{needs}", "output",
                    f"File > {' > '.join(menu)} writes {name} {old} on {where}",
                    FULL if needs == "full-disk" else READ_ONLY, window=prepare, needs=needs)


WINDOW_WRITERS = [
    ("heatmap-png", ("Export", "Heatmap as PNG…"), "heatmap.png", (640,)),
    ("heatmap-svg", ("Export", "Heatmap as SVG…"), "heatmap.svg", ()),
    ("curves-png", ("Export", "Curves as PNG…"), "curves.png", (640,)),
    ("tab-png", ("Export", "Current lab tab as PNG…"), "tab.png", (800,)),
    ("tab-svg", ("Export", "Current lab tab as SVG…"), "tab.svg", ()),
    ("slice-npz", ("Export", "Slice as NPZ…"), "slice.npz", ()),
    ("slice-csv", ("Export", "Slice as CSV…"), "slice.csv", ()),
    ("paths-csv", ("Export", "Paths as CSV…"), "paths.csv", ()),
    ("paths-npz", ("Export", "Paths as NPZ…"), "paths.npz", ()),
    # the GIF runs as a job (RaceGifExport): 5 frames per second, 200 px wide
    ("gif", ("Export", "Race as animated GIF…"), "race.gif", (5, 200)),
    # the old session must keep its bytes (it was destroyed and left as invalid JSON)
    ("session", ("Save session…",), "scene.hillwalk.json", ()),
]

for _label, _menu, _name, _numbers in WINDOW_WRITERS:
    CASES.append(_window_case(_label, _menu, _name, "full-disk", existing=True, numbers=_numbers))
    CASES.append(_window_case(_label, _menu, _name, "read-only", existing=False, numbers=_numbers))
CASES.append(_window_case("heatmap-png-new", ("Export", "Heatmap as PNG…"), "new.png", "full-disk",
                          existing=False, numbers=(640,)))
CASES.append(_window_case("gif-new", ("Export", "Race as animated GIF…"), "new.gif", "full-disk",
                          existing=False, numbers=(5, 200)))
