"""A figure repaints only what its scene reports as changed (gui.figures.repaint_once_a_frame):
what the window shows after a race is played, scrubbed back and played on must be what a
full repaint of it shows, pixel for pixel (a part left out would leave a stale trail or
head on screen)."""
import numpy as np
from PyQt6 import QtGui, QtWidgets

from hillwalk.gui.figures import _FrameRepaint
from hillwalk.gui.pacing import paint_in_own_turn
from tests.gui.conftest import SCENE_TIMEOUT_MS, UI_TIMEOUT_MS


def _pixels(image):
    """(H, W, 3) int array of a QImage's colours."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return data.reshape(image.height(), image.bytesPerLine())[:, :4 * image.width()].reshape(
        image.height(), image.width(), 4)[..., :3].astype(int)


def _paints_done(window):
    repaints = window.findChildren(_FrameRepaint)
    return not paint_in_own_turn(window).pending and not any(repaint.pending for repaint in repaints)


def test_a_played_race_shows_what_a_full_repaint_shows(qtbot, window):
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    state.set_playing(False)
    steps = state.race.steps
    # played a step at a time, back to a third, on by two; each frame painted as the app paints it
    for frame in list(range(0, steps + 1)) + [steps // 3] + list(range(steps // 3, steps + 1, 2)):
        state.set_frame(frame)
        qtbot.waitUntil(lambda: _paints_done(window) and window.scene_complete(), timeout=UI_TIMEOUT_MS)
    qtbot.wait(50)
    qtbot.waitUntil(lambda: _paints_done(window), timeout=UI_TIMEOUT_MS)
    # what the window's backing store holds (offscreen: the screen's grab reads it), against
    # a fresh paint of the whole window
    shown = _pixels(QtWidgets.QApplication.primaryScreen().grabWindow(window.winId()).toImage())
    fresh = _pixels(window.grab().toImage())
    assert shown.shape == fresh.shape
    for figure in (window.heatmap.figure, window.cut_panel.plot_widget, window.curves.graphics):
        corner = figure.viewport().mapTo(window, figure.viewport().rect().topLeft())
        rows = slice(corner.y(), corner.y() + figure.viewport().height())
        columns = slice(corner.x(), corner.x() + figure.viewport().width())
        np.testing.assert_array_equal(shown[rows, columns], fresh[rows, columns])
