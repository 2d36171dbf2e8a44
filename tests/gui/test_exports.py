"""Every export of the app, through the File > Export menu; files parse back. The tests
only export (nothing they do changes the scene), so they share one window on the small
scene (conftest's ``small_window``); sizes are read off that scene."""
import csv
import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image
from PyQt6 import QtGui, QtWidgets

from tests.gui.conftest import LONG_WORK_TIMEOUT_MS, SCENE_TIMEOUT_MS


@pytest.fixture
def window(small_window, qtbot):
    """The module's window with its scene computed; a message a test opens is closed after it."""
    qtbot.waitUntil(small_window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    yield small_window
    if small_window.error_dialog is not None:
        small_window.error_dialog.close()


def answer_dialogs(monkeypatch, path, numbers=()):
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    answers = list(numbers)
    monkeypatch.setattr(QtWidgets.QInputDialog, "getInt", lambda *a, **k: (answers.pop(0), True))


def export_action(window, text):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    export = next(a.menu() for a in menu.actions() if a.text() == "Export")
    return next(a for a in export.actions() if a.text() == text)


@pytest.mark.parametrize("view", ["Heatmap", "Cut", "Curves"])
def test_every_view_exports_to_png_of_a_chosen_width_and_to_svg(window, tmp_path, monkeypatch, view):
    png = tmp_path / "view.png"
    answer_dialogs(monkeypatch, png, [640])
    export_action(window, f"{view} as PNG…").trigger()
    assert QtGui.QImage(str(png)).width() == 640
    svg = tmp_path / "view.svg"
    answer_dialogs(monkeypatch, svg)
    export_action(window, f"{view} as SVG…").trigger()
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")


def test_slice_exports_in_render_formats(window, tmp_path, monkeypatch):
    npz = tmp_path / "slice.npz"
    answer_dialogs(monkeypatch, npz)
    export_action(window, "Slice as NPZ…").trigger()
    with np.load(npz) as archive:
        assert {"loss", "alphas", "betas", "center", "dir1", "dir2", "meta", "X", "y"} <= set(archive.files)
        np.testing.assert_array_equal(archive["loss"], window.state.landscape.values)
        meta = json.loads(str(archive["meta"]))
    assert meta["settings"]["session"]["problem"]["dataset"] == window.state.problem.dataset == "iris"
    table = tmp_path / "slice.csv"
    answer_dialogs(monkeypatch, table)
    export_action(window, "Slice as CSV…").trigger()
    rows = list(csv.reader(table.read_text().splitlines()))
    grid = window.state.slice.grid  # 41 on the small scene
    assert rows[0] == ["a", "b", "loss"] and len(rows) == 1 + grid * grid


def test_paths_export_in_trace_formats(window, tmp_path, monkeypatch):
    table = tmp_path / "paths.csv"
    answer_dialogs(monkeypatch, table)
    export_action(window, "Paths as CSV…").trigger()
    rows = list(csv.reader(table.read_text().splitlines()))
    assert rows[0][:3] == ["method", "step", "loss"] and rows[0][-4:] == ["batch_loss", "train_acc", "val_acc",
                                                                         "grad_norm"]
    state = window.state
    in_plane = state.race.in_plane  # the small scene's race, like the default's: its parameters are (a, b)
    rows_per_run = state.race.steps + 1  # 61 on the small scene
    parameters = int(np.prod(state.objective.param_shape))  # 15 on iris
    assert len(rows[0]) == 3 + (2 if in_plane else parameters) + 4 and len(rows) == 1 + 4 * rows_per_run
    archive_path = tmp_path / "paths.npz"
    answer_dialogs(monkeypatch, archive_path)
    export_action(window, "Paths as NPZ…").trigger()
    with np.load(archive_path) as archive:
        assert len(archive["methods"]) == 4
        shape = (rows_per_run, 2) if in_plane else (rows_per_run, *state.objective.param_shape)
        assert archive["theta_0"].shape == shape


def test_race_exports_as_an_animated_gif(window, qtbot, tmp_path, monkeypatch):
    gif = tmp_path / "race.gif"
    answer_dialogs(monkeypatch, gif, [12, 400])
    window.export_gif_action.trigger()
    qtbot.waitUntil(lambda: not window.gif_export.running, timeout=LONG_WORK_TIMEOUT_MS)  # it runs in a worker
    with Image.open(gif) as image:
        assert image.n_frames == 60 and image.size == (400, 300)
        assert image.info["duration"] == 80  # 1/12 s in the GIF's hundredths of a second


def test_exports_report_errors_without_crashing(window, tmp_path):
    window.export_slice(tmp_path / "fine.npz")
    window._export(lambda: window.export_slice(tmp_path / "slice.txt"), "slice.txt")
    assert window.error_dialog.isVisible() and ".npz or .csv" in window.error_dialog.text()
    window.error_dialog.close()
