"""A figure repaints only what its scene reports as changed (gui.figures.repaint_once_a_frame):
what the window shows after a race is played, scrubbed back and played on must be what a
full repaint of it shows, pixel for pixel (a part left out would leave a stale trail or
head on screen)."""
from dataclasses import replace

import numpy as np
from PyQt6 import QtGui, QtWidgets

from hillwalk.gui.figures import _FrameRepaint, viewport_region
from hillwalk.gui.pacing import paint_in_own_turn
from tests.gui.conftest import SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, type_into


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
    _assert_shown_as_painted(qtbot, window)
    # a method's new learning rate: its runs restart and the heatmap's legend (which ignores
    # the view's transform: the scene reports no area for it) says the new rate
    entry = state.optimizers[0]
    state.update_optimizer(entry.id, spec=replace(entry.spec, lr=0.0123456))
    qtbot.waitUntil(lambda: window.scene_complete() and state.runs[entry.id].finished, timeout=SCENE_TIMEOUT_MS)
    state.set_frame(steps)
    qtbot.waitUntil(lambda: _paints_done(window) and window.scene_complete(), timeout=UI_TIMEOUT_MS)
    assert any("0.0123456" in label.text for _sample, label in window.heatmap.legend.items)
    _assert_shown_as_painted(qtbot, window)


def _assert_shown_as_painted(qtbot, window):
    """The three figures on screen are what a full repaint of the window paints."""
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


def test_an_area_far_beyond_the_viewport_is_clipped_to_it_not_lost(qtbot):
    """A diverged path on a zoomed plot reaches past 2^31 pixels: mapped in integers its
    area overflowed to an empty region, and its old place was never repainted."""
    import pyqtgraph as pg
    from PyQt6 import QtCore

    view = pg.GraphicsView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    region = viewport_region(view, [QtCore.QRectF(-5.0, 10.0, 1e12, 20.0), QtCore.QRectF(-1e15, -1e15, 2e15, 2e15)])
    bounds = region.boundingRect()
    assert not region.isEmpty() and bounds.left() <= 0 and bounds.right() >= view.viewport().width() - 1
    assert bounds.top() <= 0 and bounds.bottom() >= view.viewport().height() - 1


def test_a_legend_sample_whose_pen_changes_is_repainted(qtbot):
    """A legend ignores the view's transform: the scene reports no area when its sample's
    line changes. A new colour, width or dash of the item's pen is repainted."""
    import pyqtgraph as pg
    from PyQt6 import QtCore

    from hillwalk.gui.figures import changed_untransformed_areas, untransformed_candidates, untransformed_items

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    legend = widget.getPlotItem().addLegend()
    item = pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#E69F00", width=2))
    widget.addItem(item)
    legend.addItem(item, "SGD")
    widget.resize(300, 200)
    widget.show()
    qtbot.waitExposed(widget)
    candidates = untransformed_candidates(widget)
    before = untransformed_items(widget, candidates)
    assert changed_untransformed_areas(before, untransformed_items(widget, candidates)).isEmpty()
    for pen in (pg.mkPen("#E69F00", width=4), pg.mkPen("#E69F00", width=4, style=QtCore.Qt.PenStyle.DashLine),
                pg.mkPen("#0072B2", width=4, style=QtCore.Qt.PenStyle.DashLine)):
        item.setPen(pen)
        now = untransformed_items(widget, candidates)
        assert not changed_untransformed_areas(before, now).isEmpty()
        before = now


def test_a_new_slice_of_the_same_plane_leaves_the_figures_labels_alone(qtbot, window):
    """A regularization change slices the same plane again (a preview, partial rows, the
    result): the heatmap's title and axis labels, and the colour map, are the same and are
    not set again (pyqtgraph lays a relabelled axis and its plot out again); a new plane's
    labels are."""
    import pyqtgraph as pg

    state, figure = window.state, window.heatmap.figure
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    relabelled, recoloured = [], []
    original_label, original_map = pg.AxisItem._updateLabel, pg.ColorBarItem.setColorMap

    labelled = {id(figure.plot.getAxis("bottom")): "bottom", id(figure.plot.getAxis("left")): "left",
                id(figure.colorbar.axis): "colour bar"}

    def label_spy(axis):
        if id(axis) in labelled:   # (the hidden top and right axes relabel at a range change: SI prefixes)
            relabelled.append(labelled[id(axis)])
        return original_label(axis)

    def height_spy(axis):   # what AxisItem.show() and a relabel do: the axis is laid out again
        if id(axis) in labelled:
            relabelled.append(labelled[id(axis)] + " laid out")
        return original_height(axis)

    def width_spy(axis):
        if id(axis) in labelled:
            relabelled.append(labelled[id(axis)] + " laid out")
        return original_width(axis)

    def map_spy(bar, colormap):
        recoloured.append(colormap)
        return original_map(bar, colormap)

    original_height, original_width = pg.AxisItem._updateHeight, pg.AxisItem._updateWidth
    pg.AxisItem._updateLabel, pg.ColorBarItem.setColorMap = label_spy, map_spy
    pg.AxisItem._updateHeight, pg.AxisItem._updateWidth = height_spy, width_spy
    try:
        lam = window.model_panel.lam
        type_into(qtbot, lam, f"{lam.value() * 3:.6g}")
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
        # no label set again; no axis laid out again but the colour bar's (its new levels'
        # tick labels may take another width)
        assert [what for what in relabelled if what != "colour bar laid out"] == [] and recoloured == []
        seed = window.landscape_panel.plane_seed
        type_into(qtbot, seed, str(int(seed.value()) + 1))
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    finally:
        pg.AxisItem._updateLabel, pg.ColorBarItem.setColorMap = original_label, original_map
        pg.AxisItem._updateHeight, pg.AxisItem._updateWidth = original_height, original_width
    assert figure.plot.getAxis("bottom").labelText == state.plane.describe_axis(1)
