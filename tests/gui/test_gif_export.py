"""File > Export > Race as animated GIF runs in a worker: the window keeps answering, the
status bar shows progress and can cancel it, the file appears whole or not at all, and an
oversize request is refused before any work."""
import numpy as np
import pytest
from PIL import Image
from PyQt6 import QtCore, QtGui, QtWidgets

from tests.gui.conftest import LONG_WORK_TIMEOUT_MS, UI_TIMEOUT_MS


def answer_dialogs(monkeypatch, path, numbers):
    """The file dialog answers ``path``; the number dialogs answer ``numbers`` in turn."""
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    answers = list(numbers)
    monkeypatch.setattr(QtWidgets.QInputDialog, "getInt", lambda *a, **k: (answers.pop(0), True))


def record_progress(window):
    seen = []
    window.state.progress.connect(lambda text, fraction: seen.append((text, fraction)))
    return seen


def test_gif_export_runs_in_a_worker_reports_progress_and_writes_every_frame(window, qtbot, tmp_path, monkeypatch):
    progress = record_progress(window)
    gif = tmp_path / "race.gif"
    answer_dialogs(monkeypatch, gif, [10, 320])  # 10 frames per second, 320 px wide
    window.export_gif_action.trigger()
    export = window.gif_export
    # a callback queued on the GUI thread now runs while the export is still under way
    ran_while_exporting = []
    QtCore.QTimer.singleShot(0, lambda: ran_while_exporting.append(export.running))
    qtbot.waitUntil(lambda: bool(ran_while_exporting), timeout=UI_TIMEOUT_MS)
    assert ran_while_exporting == [True]
    qtbot.waitUntil(lambda: not export.running, timeout=LONG_WORK_TIMEOUT_MS)
    assert export.result == (gif, 60) and export.error is None
    assert any(text.startswith("computing: GIF frame") and 0 < fraction < 1 for text, fraction in progress)
    with Image.open(gif) as image:
        assert image.n_frames == 60 and image.size == (320, 240)
        assert image.info["duration"] == 100
        image.seek(59)
        last = np.asarray(image.convert("RGB"))
    assert window.status_message.text().startswith(f"Exported {gif}: 60 frames")
    assert [p.name for p in tmp_path.iterdir()] == ["race.gif"]  # no temporary left beside it
    # the last frame draws every path: each enabled optimizer's colour is in it
    for entry in window.state.optimizers:
        color = np.array(QtGui.QColor(entry.color).getRgb()[:3])
        assert (np.abs(last.astype(int) - color).sum(axis=2) < 30).any(), entry.color


@pytest.mark.scene("long_race_session")  # 300 frames of 300 steps: an export that takes a while
def test_cancel_in_the_status_bar_stops_the_export_and_leaves_the_old_file(window, qtbot, tmp_path):
    gif = tmp_path / "race.gif"
    gif.write_bytes(b"an earlier export")
    progress = record_progress(window)
    export = window.export_gif(gif, fps=15, width=800, frames=300)
    qtbot.waitUntil(lambda: any(text.startswith("computing: GIF frame") for text, _ in progress),
                    timeout=LONG_WORK_TIMEOUT_MS)
    assert export.running and window.cancel_button.isVisible()
    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not export.running, timeout=LONG_WORK_TIMEOUT_MS)
    assert export.result is None and export.error is None
    assert [p.name for p in tmp_path.iterdir()] == ["race.gif"]  # the temporary is gone
    assert gif.read_bytes() == b"an earlier export"
    assert not window.cancel_button.isVisible()


def test_an_oversize_gif_is_refused_with_one_message_before_any_work(window, qtbot, tmp_path):
    busy = []
    window.state.busy_changed.connect(busy.append)
    errors = []
    window.state.error.connect(errors.append)
    assert window.export_gif(tmp_path / "huge.gif", fps=15, width=4000, frames=200) is None
    assert window.error_dialog.isVisible()
    message = window.error_dialog.text()
    assert "4000x3000 GIF of 200 frames" in message and "1.0 GB budget" in message
    assert window.status_message.text() == f"Error: {message}"
    assert busy == [] and not window.state.jobs.running and errors == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.scene("long_race_session")
def test_a_new_export_replaces_a_running_one(window, qtbot, tmp_path):
    first = window.export_gif(tmp_path / "first.gif", fps=15, width=800, frames=300)
    second = window.export_gif(tmp_path / "second.gif", fps=15, width=200, frames=5)
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=LONG_WORK_TIMEOUT_MS)
    assert first.result is None and second.result == (tmp_path / "second.gif", 5)
    assert [p.name for p in tmp_path.iterdir()] == ["second.gif"]


def test_frames_draw_the_paths_where_the_heatmap_puts_plane_coordinates(window):
    from hillwalk.gui.animation import PathToDraw, draw_race_frame, render_race_background

    landscape = window.state.landscape
    path = PathToDraw("probe", np.array([0, 1]), np.array([-0.5, 0.5]), np.array([-0.5, 0.5]), "#00ff00")
    background = render_race_background(landscape, [path], (800, 600), title="probe")
    image = background.image.convertToFormat(background.image.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    pixels = pixels.reshape(600, image.bytesPerLine())[:, :800 * 3].reshape(600, 800, 3)
    # pyqtgraph drew the centre's black '+' (16 px, outlined) around plane (0, 0): the black
    # pixels near where the map puts (0, 0) are centred on it
    x, y = (float(v) for v in background.to_pixels(0.0, 0.0))
    left, top = int(x) - 14, int(y) - 14
    rows, columns = np.nonzero(pixels[top:top + 29, left:left + 29].max(axis=2) < 40)
    assert rows.size > 20
    assert abs(left + (columns.min() + columns.max() + 1) / 2 - x) <= 1.0
    assert abs(top + (rows.min() + rows.max() + 1) / 2 - y) <= 1.0
    x, y = int(x), int(y)
    frame = draw_race_frame(background, [path], [2], [False], 1)
    red, green, blue, _ = frame.pixelColor(x, y).getRgb()
    assert green > 200 and red < 60 and blue < 60  # the path's line passes through (0, 0)


def test_a_gif_frame_draws_each_path_on_a_white_band(window):
    """An orange path on the colour map's orange and red was all but invisible in the GIF
    (the app draws its trails on a white band): the frames now do as the app does."""
    from hillwalk.gui.animation import PathToDraw, draw_race_frame, render_race_background

    landscape = window.state.landscape
    path = PathToDraw("probe", np.array([0, 1]), np.array([-0.8, 0.8]), np.array([0.0, 0.0]), "#E69F00")
    background = render_race_background(landscape, [path], (800, 600), title="probe")
    frame = draw_race_frame(background, [path], [2], [False], 1)
    x, y = (int(round(float(v))) for v in background.to_pixels(0.3, 0.0))
    orange = frame.pixelColor(x, y)
    assert (orange.red(), orange.green(), orange.blue()) == pytest.approx((230, 159, 0), abs=40)
    # just outside the 2.5 px line, inside the band 3 px wider: near white, on either side
    for offset in (-2, 2):
        band = frame.pixelColor(x, y + offset)
        assert min(band.red(), band.green(), band.blue()) > 180, (offset, band.getRgb())
