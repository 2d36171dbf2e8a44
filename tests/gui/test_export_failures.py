"""Exports and saves that cannot be written, through the File menu as a person uses it:
one message, never a false "Exported", no libpng text on stderr, no partial file or
temporary left, and an existing file keeps its bytes; also when pyqtgraph's exporters
hand back nothing."""
import contextlib
from xml.etree import ElementTree

import pytest
from PyQt6 import QtGui, QtWidgets

from tests.corpus import BadInput, PlaceUnavailable, place_for
from tests.gui.conftest import LONG_WORK_TIMEOUT_MS, SCENE_TIMEOUT_MS, wait_for_frames

OLD = b"an earlier export: keep these bytes\n"


@pytest.fixture
def window(small_window, qtbot):
    """The small window with its scene computed, playback paused, its messages recorded."""
    qtbot.waitUntil(small_window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    small_window.state.set_playing(False)
    small_window.messages = []
    small_window.state.error.connect(small_window.messages.append)
    original = small_window.show_error
    small_window.show_error = lambda message: (small_window.messages.append(message), original(message))
    yield small_window
    del small_window.show_error
    small_window.state.error.disconnect(small_window.messages.append)
    if small_window.error_dialog is not None:
        small_window.error_dialog.close()
    small_window.status_message.setText("")


@contextlib.contextmanager
def small_disk(tmp_path, needs):
    """A small tmpfs (skipped where it cannot be mounted)."""
    case = BadInput("small-disk", "output", "a small tmpfs", "", cli=lambda place: [], needs=needs)
    try:
        with place_for(case, tmp_path, size_kb=1024) as place:
            yield place
    except PlaceUnavailable as reason:
        pytest.skip(str(reason))


def answer_dialogs(monkeypatch, path, numbers=()):
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    answers = list(numbers)
    monkeypatch.setattr(QtWidgets.QInputDialog, "getInt", lambda *a, **k: (answers.pop(0), True))


def menu_action(window, *texts):
    actions = window.menuBar().actions()
    for text in ("&File", *texts[:-1]):
        actions = next(a for a in actions if a.text() == text).menu().actions()
    return next(a for a in actions if a.text() == texts[-1])


def contents(folder):
    """{name: bytes} of everything in ``folder``, hidden temporaries included."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


SYNCHRONOUS = [(("Export", "Heatmap as PNG…"), "view.png", (640,)),
               (("Export", "Heatmap as SVG…"), "view.svg", ()),
               (("Export", "Cut as PNG…"), "cut.png", (500,)),
               (("Export", "Curves as SVG…"), "curves.svg", ()),
               (("Export", "Current lab tab as PNG…"), "tab.png", (900,)),
               (("Export", "Current lab tab as SVG…"), "tab.svg", ()),
               (("Export", "Slice as NPZ…"), "slice.npz", ()),
               (("Export", "Paths as CSV…"), "paths.csv", ()),
               (("Save session…",), "scene.hillwalk.json", ())]


@pytest.mark.parametrize("menu, name, numbers", SYNCHRONOUS, ids=[m[-1] for m, _, _ in SYNCHRONOUS])
def test_a_failed_write_on_a_full_disk_says_so_once_and_keeps_the_old_file(window, tmp_path, monkeypatch, capfd,
                                                                        menu, name, numbers):
    with small_disk(tmp_path, "full-disk") as place:
        target = place.folder / name
        target.write_bytes(OLD)
        place.fill_disk()
        before = contents(place.folder)
        answer_dialogs(monkeypatch, target, numbers)
        capfd.readouterr()
        menu_action(window, *menu).trigger()
        after = contents(place.folder)
    out, err = capfd.readouterr()
    assert after == before  # the old bytes, and no partial file or temporary beside them
    assert len(window.messages) == 1 and "the disk is full" in window.messages[0], window.messages
    assert "the existing file is unchanged" in window.messages[0]
    assert window.status_message.text().startswith("Error: ") and "Exported" not in window.status_message.text()
    assert window.error_dialog.isVisible()
    assert "libpng" not in err and "libpng" not in out


@pytest.mark.parametrize("menu, name, numbers", SYNCHRONOUS, ids=[m[-1] for m, _, _ in SYNCHRONOUS])
def test_a_read_only_folder_gets_one_message_and_nothing_written(window, tmp_path, monkeypatch, capfd,
                                                               menu, name, numbers):
    with small_disk(tmp_path, "read-only") as place:
        place.make_read_only()
        answer_dialogs(monkeypatch, place.folder / name, numbers)
        capfd.readouterr()
        menu_action(window, *menu).trigger()
        after = contents(place.folder)
    _, err = capfd.readouterr()
    assert after == {}
    assert len(window.messages) == 1 and "read-only" in window.messages[0], window.messages
    assert "Exported" not in window.status_message.text() and "Saved" not in window.status_message.text()
    assert "libpng" not in err


def test_the_gif_export_job_fails_once_and_leaves_nothing_behind(window, qtbot, tmp_path, monkeypatch):
    with small_disk(tmp_path, "full-disk") as place:
        target = place.folder / "race.gif"
        target.write_bytes(OLD)
        place.fill_disk()
        before = contents(place.folder)
        answer_dialogs(monkeypatch, target, (5, 200))
        window.export_gif_action.trigger()
        export = window.gif_export
        qtbot.waitUntil(lambda: not export.running, timeout=LONG_WORK_TIMEOUT_MS)  # it runs as a job
        qtbot.waitUntil(lambda: bool(window.messages), timeout=SCENE_TIMEOUT_MS)
        wait_for_frames(qtbot, window)  # a second message would arrive now
        after = contents(place.folder)
    assert after == before
    assert export.result is None and "the disk is full" in export.error
    assert len(window.messages) == 1 and "the disk is full" in window.messages[0], window.messages
    assert "Exported" not in window.status_message.text()


def test_a_successful_export_replaces_the_old_file_and_leaves_no_temporary(window, tmp_path, monkeypatch):
    for menu, name, numbers in [(("Export", "Heatmap as PNG…"), "view.png", (640,)),
                                (("Export", "Current lab tab as SVG…"), "tab.svg", ())]:
        target = tmp_path / name
        target.write_bytes(OLD)
        answer_dialogs(monkeypatch, target, numbers)
        menu_action(window, *menu).trigger()
        assert window.messages == []
        assert window.status_message.text() == f"Exported {target}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tab.svg", "view.png"]
    assert QtGui.QImage(str(tmp_path / "view.png")).width() == 640
    assert ElementTree.parse(tmp_path / "tab.svg").getroot().tag.endswith("svg")  # whole: it parses


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_an_exporter_that_hands_back_nothing_writes_nothing(window, tmp_path, monkeypatch, kind):
    """pyqtgraph's exporters can come back empty (a view with no size); that is a message,
    not an empty file and not "Exported"."""
    import pyqtgraph.exporters

    if kind == "png":
        monkeypatch.setattr(pyqtgraph.exporters.ImageExporter, "export", lambda self, *a, **k: QtGui.QImage())
    else:
        monkeypatch.setattr(pyqtgraph.exporters.SVGExporter, "export", lambda self, *a, **k: b"")
    target = tmp_path / f"view.{kind}"
    target.write_bytes(OLD)
    answer_dialogs(monkeypatch, target, (640,))
    menu_action(window, "Export", f"Heatmap as {kind.upper()}…").trigger()
    assert len(window.messages) == 1 and "empty" in window.messages[0], window.messages
    assert "Exported" not in window.status_message.text()
    assert contents(tmp_path) == {target.name: OLD}
