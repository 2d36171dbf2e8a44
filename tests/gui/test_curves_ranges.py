"""The curves panel frames its plots itself (gui/panels/curves.py, steady_range): a range that
stays while the curves grow inside it, room when they leave it, a tight fit once every run
has ended, and a user's zoom kept."""
import numpy as np
import pytest
from PyQt6 import QtCore

from hillwalk.gui.pacing import DeferredSlot
from hillwalk.gui.panels.curves import Y_GROWTH, Y_PADDING, Y_SHRINK_FILL, CurveLayer, steady_range
from tests.gui.conftest import (
    LONG_WORK_TIMEOUT_MS,
    SCENE_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    open_window,
    type_into,
    wait_for_frames,
)


def test_a_steady_range_holds_grows_with_room_and_fits_at_the_end():
    fresh = steady_range(None, 1.0, 2.0, final=False, log=False)
    assert fresh == pytest.approx((1.0 - (Y_GROWTH - 1) / 2, 2.0 + (Y_GROWTH - 1) / 2))
    # curves growing inside it (with their padding) keep it
    assert steady_range(fresh, 0.9, 2.2, final=False, log=False) == fresh
    # leaving it: a new range around them, with room
    low, high = steady_range(fresh, 0.0, 3.0, final=False, log=False)
    assert low < -Y_PADDING * 3 and high > 3.0 + Y_PADDING * 3
    # filling too little of it: fitted again
    assert steady_range(fresh, 1.5, 1.5 + 0.9 * Y_SHRINK_FILL * (fresh[1] - fresh[0]), False, False) != fresh
    # the end: with the padding pyqtgraph's autorange would take
    assert steady_range(fresh, 1.0, 2.0, final=True, log=False, final_padding=0.1) == pytest.approx((0.9, 2.1))
    # one value: a tenth of it around it, a decade on a log axis
    assert steady_range(None, 5.0, 5.0, final=True, log=False) == pytest.approx((4.75 - 0.025, 5.25 + 0.025))
    assert steady_range(None, 0.0, 0.0, final=True, log=True, final_padding=0.1) == pytest.approx((-0.6, 0.6))
    # a loss of exactly 0 all along (not a range of rounding errors around it)
    assert steady_range(None, 0.0, 0.0, final=True, log=False, final_padding=0.1) == pytest.approx((-0.6, 0.6))


def data_extent(values, log):
    """The test's own reference: (lowest, highest) of the finite values in a plot's
    coordinates (log10 of the positive ones on a log axis), or None."""
    values = np.asarray(values, dtype=float)
    if log:
        values = values[values > 0]
        values = np.log10(values) if values.size else values
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if values.size else None


def test_a_curves_extent_is_in_the_plots_coordinates(qtbot):
    """The ranges are framed from the layer's own extent of each curve as drawn (log10 on a
    log axis; non-finite and, on a log axis, non-positive values left out)."""
    layer = CurveLayer()

    def extent(values, log):
        layer.setLogMode(False, log)
        layer.set_part("curve", np.arange(float(len(values))), np.array(values))
        low, high = layer.part_extent("curve")
        return None if low is None else (low, high)

    assert extent([3.0, np.nan, 1.0, np.inf], log=False) == (1.0, 3.0)
    assert extent([100.0, 0.0, -1.0, 0.1], log=True) == pytest.approx((-1.0, 2.0))
    assert extent([np.nan], log=False) is None and extent([0.0, -2.0], log=True) is None


def drawn_extent(curves, plot, names, log):
    lows, highs = [], []
    for entry_id in curves.curve_ids:
        for name in names:
            x, y = curves.curve_data(entry_id, name)
            if not len(y):
                continue
            extent = data_extent(y, log)
            if extent is not None:
                lows.append(extent[0])
                highs.append(extent[1])
    return min(lows), max(highs)


def test_the_curves_keep_a_steady_range_as_a_race_streams_and_fit_it_at_the_end(qtbot, window):
    """A long race streams in many updates; the loss plot's range moves a few times, each
    time with room, always holds every drawn curve, and fits them once the race has ended.
    Its bottom axis lays its ticks out again only when the plots' ranges move (pyqtgraph's
    AxisItem.show() at every update had it do so every time)."""
    import pyqtgraph as pg

    state, curves = window.state, window.curves
    plot = curves.loss_plot
    axis = plot.getAxis("bottom")
    layouts, ranges, updates = [], [], []
    original = pg.AxisItem.generateDrawSpecs

    def counted(item, painter):
        if item is axis:
            layouts.append(1)
        return original(item, painter)

    def on_range(_view_box, y_range):
        ranges.append(tuple(y_range))

    def on_update():
        if any(curves.curve_data(entry_id, "loss")[1].size for entry_id in curves.curve_ids):
            low, high = drawn_extent(curves, plot, ("loss",), curves._log_loss())
            bottom, top = plot.vb.viewRange()[1]
            updates.append(bottom <= low and high <= top)

    plot.vb.sigYRangeChanged.connect(on_range)
    pg.AxisItem.generateDrawSpecs = counted
    try:
        type_into(qtbot, window.optimizers_panel.steps, "3000")
        qtbot.waitUntil(lambda: state.race.steps == 3000, timeout=UI_TIMEOUT_MS)
        # after each of the panel's deferred updates (connected after its own slot)
        for deferred in curves.findChildren(DeferredSlot):
            deferred._timer.timeout.connect(on_update)
        qtbot.waitUntil(window.scene_complete, timeout=LONG_WORK_TIMEOUT_MS)
    finally:
        pg.AxisItem.generateDrawSpecs = original
        plot.vb.sigYRangeChanged.disconnect(on_range)
    assert len(updates) >= 10 and all(updates)           # every drawn curve inside the range, always
    assert len(ranges) <= len(updates) // 2              # steady: far fewer moves than updates
    assert len(layouts) <= len(ranges) + 3               # the axis laid out for a move, not per update
    low, high = drawn_extent(curves, plot, ("loss",), curves._log_loss())
    span = high - low
    pad = plot.vb.suggestPadding(1)   # as pyqtgraph's autorange frames them
    assert plot.vb.viewRange()[1] == pytest.approx((low - pad * span, high + pad * span))
    state.set_race(steps=60)   # back to the module's scene
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_zoomed_curves_plot_keeps_the_users_range_until_the_auto_button(qtbot, window):
    curves = window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    plot = curves.shown_plots()[0]
    # the user's zoom: the mouse wheel over the plot
    view = curves.graphics
    center = view.mapFromScene(plot.vb.sceneBoundingRect().center())
    before = tuple(plot.vb.viewRange()[1])
    wheel = pg_wheel_event(center, view)
    QtCore.QCoreApplication.sendEvent(view.viewport(), wheel)
    zoomed = tuple(plot.vb.viewRange()[1])
    assert zoomed != before
    # a stronger regularization: every loss is higher, the curves are drawn again, the zoom stays
    lam = window.model_panel.lam
    type_into(qtbot, lam, f"{lam.value() * 100:.6g}")
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert tuple(plot.vb.viewRange()[1]) == zoomed
    # pyqtgraph's "A" button hands the range back: the next update frames the curves again
    plot.autoBtnClicked()
    type_into(qtbot, lam, f"{lam.value() / 100:.6g}")
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not plot.vb.autoRangeEnabled()[1], timeout=UI_TIMEOUT_MS)
    names, log = {id(curves.loss_plot): (("loss",), curves._log_loss()), id(curves.accuracy_plot): (("train", "val"), False),
                  id(curves.gradient_plot): (("grad",), True)}[id(plot)]
    low, high = drawn_extent(curves, plot, names, log)
    span = high - low
    pad = plot.vb.suggestPadding(1)
    assert span > 0 and plot.vb.viewRange()[1] == pytest.approx((low - pad * span, high + pad * span))


def pg_wheel_event(position, view):
    from PyQt6 import QtGui

    point = QtCore.QPointF(position)
    return QtGui.QWheelEvent(point, QtCore.QPointF(view.viewport().mapToGlobal(position)), QtCore.QPoint(0, 0),
                             QtCore.QPoint(0, 240), QtCore.Qt.MouseButton.NoButton,
                             QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)


def test_hovering_a_curve_names_its_method(qtbot, window):
    """The curves are parts of one layer a plot: the mouse near a method's loss curve shows
    that method's label as the tooltip (as the curve items' tooltips did), and nothing
    away from every curve."""
    from PyQt6.QtTest import QTest

    state, curves = window.state, window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    # the plot's final fit, and the loss axis's ticks for it, may still lay it out again
    wait_for_frames(qtbot, window)
    layer = curves.layers["loss"]
    view = curves.graphics
    entry = state.optimizers[0]
    x, y = curves.curve_data(entry.id, "loss")
    row = x.size // 2

    def on_curve():   # where the curve's middle point is shown now (the layout may still settle)
        drawn_y = np.log10(y[row]) if curves._log_loss() else y[row]
        return view.mapFromScene(layer.mapToScene(QtCore.QPointF(x[row], drawn_y)))

    def away():   # the lowest, rightmost corner of the plot: below every curve
        return view.mapFromScene(curves.loss_plot.vb.sceneBoundingRect().bottomRight()) - QtCore.QPoint(3, 3)

    assert layer.label_near(view.mapToScene(away())) == ""

    def hovered(where):
        # a person's mouse moves a pixel at a time (pyqtgraph takes at most one move a frame)
        hovered.at = where() + QtCore.QPoint(hovered.wiggle, 0)
        QTest.mouseMove(view.viewport(), hovered.at)
        hovered.wiggle = 1 - hovered.wiggle
        return layer.toolTip()

    hovered.wiggle = 0
    qtbot.waitUntil(lambda: hovered(on_curve) != "", timeout=UI_TIMEOUT_MS)
    label = layer.toolTip()
    assert label in {state.runs[e.id].label for e in state.optimizers if e.enabled}
    # (another method's curve may pass through the same pixel: the nearest names itself)
    assert layer.label_near(view.mapToScene(hovered.at)) == label
    qtbot.waitUntil(lambda: hovered(away) == "", timeout=UI_TIMEOUT_MS)


def test_a_curves_plot_exports_its_curves_data_as_csv(qtbot, window, tmp_path):
    """pyqtgraph's CSV exporter (a plot's Export... menu) finds every method's curve, named
    after it, with the points the curve is drawn through (the layer draws them; a hidden
    CurveData item per curve hands them to exporters)."""
    import csv

    import pyqtgraph.exporters

    state, curves = window.state, window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    path = tmp_path / "loss.csv"
    pyqtgraph.exporters.CSVExporter(curves.loss_plot).export(str(path))
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    enabled = [e for e in state.optimizers if e.enabled]
    assert len(header) == 2 * len(enabled)
    for k, entry in enumerate(enabled):
        x, y = curves.curve_data(entry.id, "loss")
        assert header[2 * k] == f"{state.runs[entry.id].label} full-data loss_x"
        column = np.array([float(row[2 * k + 1]) for row in body if row[2 * k + 1] != ""])
        np.testing.assert_allclose(column, y, rtol=1e-9)


def test_curve_rows_only_extend_while_a_run_grows_and_cover_a_short_run():
    from hillwalk.gui.panels.curves import CURVE_POINTS, curve_rows

    assert curve_rows(300, False, 300) == slice(0, 300)
    every = -(-100000 // CURVE_POINTS)
    growing = [curve_rows(count, False, 100000) for count in (1000, 1001, 5000)]
    for shorter, longer in zip(growing, growing[1:]):
        np.testing.assert_array_equal(longer[:shorter.size], shorter)   # a prefix: only new segments
    assert growing[-1][1] == every
    # a run that diverged at step 300 of 100000: all its rows, not seven
    short = curve_rows(301, True, 100000)
    assert isinstance(short, slice) and short == slice(0, 301)
    ended = curve_rows(5001, True, 100000)
    assert ended[-1] == 5000 and ended.size <= CURVE_POINTS + 1


def test_log_ticks_thin_out_decades_on_a_short_plot():
    from hillwalk.gui.figures import log_ticks

    def values(ticks):
        return [round(10 ** position, 12) for position, _label in ticks[0]]

    assert values(log_ticks(0.02, 2.5)) == [0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
    assert values(log_ticks(0.02, 2.5, max_ticks=3)) == [0.1, 1.0]
    seven = log_ticks(5e-5, 300.0)
    assert values(seven) == [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
    # a 60-px plot holds three labels: every third decade, 1 among them
    assert values(log_ticks(5e-5, 300.0, max_ticks=3)) == [1e-3, 1.0]
    assert len(values(log_ticks(5e-5, 300.0, max_ticks=4))) <= 4
    # a race of one step: 0.57 .. 0.93 holds none of 0.5 and 1, pyqtgraph labels it itself
    assert log_ticks(0.57, 0.93) is None
    assert log_ticks(0.57, 0.93, shown=(0.55, 0.95)) is None
    # what counts is what the axis shows: losses from 0.0196 to 0.99 hold only 0.1 of the
    # decades a 75-px plot has room for, but the plot shows 0.0138 .. 1.32, and 1 with it
    # (pyqtgraph's own ticks had overlapped there: the default scene at 1280 x 720)
    assert log_ticks(0.0196, 0.99, max_ticks=4) is None
    assert values(log_ticks(0.0196, 0.99, max_ticks=4, shown=(0.0138, 1.32))) == [0.1, 1.0]


def test_the_loss_axis_labels_never_overlap_on_a_short_plot(qtbot):
    """The default scene with the lower panels dragged short (a loss plot under 90 px, as
    when the app opens at 1280 x 720): the log axis shows labels that do not overlap, at
    least two (pyqtgraph's own log ticks, used where the race's losses, 0.99 .. 0.02, held
    only one of the decades that fit, had overlapped)."""
    from PyQt6 import QtGui

    from tests.gui.scenes import default_scene_session

    window = open_window(qtbot, default_scene_session(), size=(1280, 720))
    curves = window.curves
    splitter = window.heatmap.parentWidget()   # the heatmap above, the cut and the curves below
    total = sum(splitter.sizes())
    splitter.setSizes([total - 195, 195])      # as dragging its handle down does
    qtbot.waitUntil(lambda: curves.loss_plot.vb.height() < 90, timeout=UI_TIMEOUT_MS)
    assert curves.log_loss.isChecked() and curves.loss_plot in curves.shown_plots()
    qtbot.waitUntil(lambda: not any(slot.pending for slot in curves.findChildren(DeferredSlot)),
                    timeout=UI_TIMEOUT_MS)
    axis = curves.loss_plot.getAxis("left")
    image = QtGui.QImage(200, 400, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)   # what the axis draws
    finally:
        painter.end()
    rectangles = [rect for rect, _flags, _text in texts]
    assert len(rectangles) >= 2, [text for _rect, _flags, text in texts]
    # the losses' range the ticks come from, kept run by run as the rows arrived, is the
    # range of every recorded positive loss
    losses = np.concatenate([run.loss for run in window.state.runs.values()])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    assert curves._positive_range("loss") == (losses.min(), losses.max())
    for index, first in enumerate(rectangles):
        for second in rectangles[index + 1:]:
            assert not first.intersects(second), [text for _rect, _flags, text in texts]
    window.close()
