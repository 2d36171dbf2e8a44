"""A trail drawn as a cached settled part and a live tail (gui/panels/markers.py): what
they show together is the whole path, and playing redraws only the tail."""
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtGui

from hillwalk.gui.panels.markers import SETTLED_BLOCK, RunMarkers


def test_the_settled_part_and_the_tail_together_draw_the_whole_path(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    markers = RunMarkers(widget.getPlotItem(), halo=True)
    markers.sync([SimpleNamespace(id=1, color="#E69F00")])
    x, y = np.linspace(0, 1, 300), np.sin(np.linspace(0, 6, 300))
    for upto in range(1, 301):
        markers.set_trail(1, x[:upto], y[:upto])
        settled_x, settled_y = markers.settled.part_data(1)
        tail_x, tail_y = markers.trails[1].getData()
        if settled_x.size == 0:
            joined_x, joined_y = tail_x, tail_y
        else:   # they share one row
            assert settled_x[-1] == tail_x[0]
            assert (settled_x.size - 1) % SETTLED_BLOCK == 0   # the settled part grows by blocks
            joined_x, joined_y = np.concatenate([settled_x, tail_x[1:]]), np.concatenate([settled_y, tail_y[1:]])
        np.testing.assert_array_equal(joined_x, x[:upto])
        np.testing.assert_array_equal(joined_y, y[:upto])
        assert tail_x.size >= min(upto, 2) and tail_x.size <= SETTLED_BLOCK + 1
    # going back (a smaller frame) shows the shorter path
    markers.set_trail(1, x[:10], y[:10])
    assert markers.settled.part_data(1)[0].size == 0
    np.testing.assert_array_equal(markers.trails[1].getData()[0], x[:10])
    markers.clear(1)
    assert markers.trails[1].getData()[0] is None and markers.settled.part_data(1)[0].size == 0


def _pixels(image):
    """An (H, W, 3) int array of a QImage's colours."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    return data.reshape(image.height(), image.bytesPerLine())[:, :4 * image.width()].reshape(
        image.height(), image.width(), 4)[..., 2::-1].astype(int)   # (stored as B, G, R, A)


def _race_plot(qtbot, log_y=False):
    """A plot with halo'd settled layers for three random walks (400 rows each)."""
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.setBackground((20, 40, 160))
    widget.resize(500, 400)
    widget.show()
    qtbot.waitExposed(widget)
    markers = RunMarkers(widget.getPlotItem(), halo=True)
    markers.sync([SimpleNamespace(id=k, color=color) for k, color in enumerate(("#E69F00", "#009E73", "#000000"))])
    rng = np.random.default_rng(0)
    walks = {k: (np.cumsum(rng.normal(size=400)), np.abs(np.cumsum(rng.normal(size=400))) + 1) for k in range(3)}
    widget.getPlotItem().setLogMode(y=log_y)
    widget.setRange(xRange=(-40, 40), yRange=(0, 1.7) if log_y else (0, 40), padding=0)
    return widget, markers, walks


@pytest.mark.parametrize("log_y", [False, True])
def test_settled_layers_grown_frame_by_frame_show_what_they_show_drawn_at_once(qtbot, log_y):
    """Played (a few rows a frame), scrubbed forward, or drawn at once after a change of
    view: the same pixels. A scrub back, a new colour and a log axis draw them again."""
    widget, markers, walks = _race_plot(qtbot, log_y)
    for upto in list(range(2, 200, 5)) + [350, 120, 400]:   # play, jump ahead, scrub back, jump to the end
        for k, (x, y) in walks.items():
            markers.set_trail(k, x[:upto], y[:upto])
        played = widget.grab().toImage()
    markers.settled._layer_key = None   # as a resize or a new range does: everything drawn again
    at_once = widget.grab().toImage()
    np.testing.assert_array_equal(_pixels(played), _pixels(at_once))
    # and the trails are there: the three colours are on screen
    pixels = _pixels(at_once).reshape(-1, 3)
    for color in ((0xE6, 0x9F, 0x00), (0x00, 0x9E, 0x73), (0, 0, 0)):
        assert (np.abs(pixels - color).max(axis=1) <= 2).sum() > 100


def test_a_growing_trail_strokes_only_its_new_segments(qtbot, monkeypatch):
    """Playing 400 rows strokes each settled row about once per layer, not the whole
    settled part again at every block (which is ~13 times as many points here)."""
    widget, markers, walks = _race_plot(qtbot)
    stroked = []
    original = pg.arrayToQPath
    monkeypatch.setattr(pg, "arrayToQPath", lambda x, y, **kwargs: (stroked.append(len(x)), original(x, y, **kwargs))[1])
    for upto in range(2, 401, 3):
        for k, (x, y) in walks.items():
            markers.set_trail(k, x[:upto], y[:upto])
        widget.grab()
    settled_points = sum(markers.settled.part_data(k)[0].size for k in walks)
    tails = len(range(2, 401, 3)) * len(walks) * (SETTLED_BLOCK + 2)   # the tails, at most this
    layers = 2 * (settled_points + settled_points // SETTLED_BLOCK + len(walks))   # halos and lines
    assert sum(stroked) <= layers + tails


def test_a_curve_tab_shown_later_draws_the_runs(qtbot, window):
    """The curves of a hidden tab are set when it is shown (they are skipped while hidden)."""
    from PyQt6 import QtCore

    from tests.gui.conftest import SCENE_TIMEOUT_MS

    state, curves = window.state, window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    selector = curves.selector
    window.resize(1280, 720)   # short plots: one at a time, picked by the tab bar
    qtbot.waitUntil(lambda: curves.compact and selector.isVisible(), timeout=SCENE_TIMEOUT_MS)
    assert selector.currentIndex() == 0
    qtbot.mouseClick(selector, QtCore.Qt.MouseButton.LeftButton, pos=selector.tabRect(1).center())
    assert selector.currentIndex() == 1
    for entry_id, run in state.runs.items():
        x, y = curves.curve_data(entry_id, "train")
        np.testing.assert_array_equal(y, run.train_acc[: y.size])
        assert y.size == run.train_acc.size


def test_a_new_colour_reaches_every_part_of_a_trail_and_its_head(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    markers = RunMarkers(widget.getPlotItem(), halo=True, rings=True)
    markers.sync([SimpleNamespace(id=1, color="#E69F00")])
    markers.sync([SimpleNamespace(id=1, color="#E69F00")])   # the same: nothing to redo
    markers.sync([SimpleNamespace(id=1, color="#009E73")])
    assert pg.mkPen(markers.trails[1].opts["pen"]).color().name() == "#009e73"
    assert markers.settled.color_of(1) == "#009E73"
    markers.move_head(1, 0.5, -0.25)
    assert markers.heads[1].brush().color().name() == "#009e73"
    assert markers.head_position(1) == (0.5, -0.25)


def test_the_curves_span_the_race_from_its_first_segment_and_keep_still(qtbot, window):
    """Against steps the curves' x axis is the race's (0 .. steps) from the first update on:
    the curves grow across it instead of the axis rescaling at every update, in every plot,
    shown or hidden behind the tab bar."""
    from PyQt6 import QtCore

    from hillwalk.gui.panels.curves import STEPS_PADDING
    from tests.gui.conftest import SCENE_TIMEOUT_MS

    state, curves = window.state, window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    steps = state.race.steps
    ranges = []
    state.runs_updated.connect(lambda: ranges.append([tuple(plot.vb.viewRange()[0]) for plot in curves.plots]))
    box = window.optimizers_panel.lr
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), f"{box.value() * 0.5:.6g}")
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert len(ranges) >= 2
    for low, high in (pair for update in ranges for pair in update):
        assert (low, high) == pytest.approx((-STEPS_PADDING * steps, (1 + STEPS_PADDING) * steps))
    # a change of the loss axis's log mode turns pyqtgraph's autoranging back on: still the race's
    for _ in range(2):
        qtbot.mouseClick(curves.log_loss, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
        for plot in curves.plots:
            low, high = plot.vb.viewRange()[0]
            assert (low, high) == pytest.approx((-STEPS_PADDING * steps, (1 + STEPS_PADDING) * steps))
            assert not plot.vb.autoRangeEnabled()[0]   # a run's next rows will not rescale it


def test_the_curves_of_a_method_are_made_with_its_run(qtbot):
    """Before any run exists (the window being built) the curves panel has no curves (one
    layer a plot, no parts); a method's curves come with its run."""
    from hillwalk.gui.panels.curves import CurvesPanel
    from hillwalk.gui.state import AppState

    state = AppState()
    panel = CurvesPanel(state)
    qtbot.addWidget(panel)
    assert state.optimizers and not state.runs and panel.curve_ids == set()
    assert all(not layer._parts for layer in panel.layers.values())
    state.start()
    qtbot.waitUntil(lambda: bool(state.runs) and panel.curve_ids == set(state.runs), timeout=30_000)
    state.jobs.cancel_all()
    state.jobs.wait(30_000)


def _rendered(widget, qtbot):
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget.grab().toImage()


@pytest.mark.parametrize("gaps", [True, False])
@pytest.mark.parametrize("log_y", [False, True])
def test_a_trail_line_draws_what_a_plot_data_item_draws(qtbot, log_y, gaps):
    """TrailLine is the fast stand-in for pyqtgraph's PlotDataItem: the same pixels, gaps
    where a coordinate is not finite (or not positive on a log axis), and the same bounds;
    a line without gaps takes a path of its own (polyline_path)."""
    from hillwalk.gui.panels.markers import TrailLine

    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=200))
    y = np.abs(np.cumsum(rng.normal(size=200))) + 0.1
    if gaps:
        x[50], y[120] = np.nan, np.inf
        if log_y:
            y[150] = 0.0   # log10: a gap
    pens = (pg.mkPen("#E69F00", width=2.5), pg.mkPen((255, 255, 255, 210), width=5.5))
    images, bounds = [], []
    for make in ("reference", "trail"):
        widget = pg.PlotWidget()
        qtbot.addWidget(widget)
        widget.setBackground("k")
        if make == "reference":
            item = pg.PlotDataItem(x, y, connect="finite", pen=pens[0], shadowPen=pens[1])
        else:
            item = TrailLine()
            item.setPen(pens[0])
            item.setShadowPen(pens[1])
            item.setData(x, y)
        widget.addItem(item)
        widget.getPlotItem().setLogMode(y=log_y)
        widget.setRange(xRange=(np.nanmin(x) - 1, np.nanmax(x) + 1), yRange=(-1, 1.5) if log_y else (0, 30),
                        padding=0)
        images.append(_rendered(widget, qtbot))
        bounds.append([item.dataBounds(axis) for axis in (0, 1)])
        drawn_x, drawn_y = item.getData()
        with np.errstate(divide="ignore"):
            expected_y = np.log10(y) if log_y else y
        if log_y:
            expected_y[~np.isfinite(expected_y)] = np.nan   # a gap, as PlotDataItem maps it
        np.testing.assert_array_equal(drawn_y, expected_y)
    assert images[0] == images[1]
    np.testing.assert_allclose(bounds[0], bounds[1])


def test_a_trail_line_without_finite_points_draws_nothing_and_has_no_bounds(qtbot):
    from hillwalk.gui.panels.markers import TrailLine

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    item = TrailLine()
    widget.addItem(item)
    item.setData([np.nan, np.inf], [1.0, 2.0])
    assert item.dataBounds(0) == (None, None) and item.boundingRect().isNull()
    item.setData([], [])
    assert item.getData() == (None, None)
    item.setData([0.0, 1.0], [2.0, 3.0])
    assert item.dataBounds(1) == (2.0, 3.0) and not item.boundingRect().isNull()


def test_an_export_draws_the_settled_trails_as_vectors(qtbot):
    import pyqtgraph.exporters  # noqa: F401  (pg.exporters)

    widget, markers, walks = _race_plot(qtbot)
    for k, (x, y) in walks.items():
        markers.set_trail(k, x, y)
    widget.grab()
    svg = pg.exporters.SVGExporter(widget.getPlotItem()).export(toBytes=True).decode().lower()
    # each walk's settled part is one path in its colour (its tail another), over the halos
    for color in ("#e69f00", "#009e73", "#000000"):
        assert svg.count(f'stroke="{color}"') >= 2
    assert 'stroke="#ffffff"' in svg   # the halos (the exporter groups paths of one style)


def _markers_widget(qtbot, x_range):
    from hillwalk.gui.panels.markers import PixelMarkers

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.setBackground("w")
    markers = PixelMarkers("star", 18, pen=pg.mkPen("k", width=2), brush="#D55E00")
    markers.setData([-1.15, 2.0, 5.0, np.nan], [0.0, 1.0, -1.0, 3.0])
    widget.addItem(markers)
    widget.setRange(xRange=x_range, yRange=(-2, 2), padding=0)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, markers


def test_still_markers_show_every_point_after_a_pan(qtbot):
    """The still markers (the centre, a test function's minima, a cut's ends) drawn by
    PixelMarkers: panned from a view that leaves a point just out (under the left axis) to
    one that shows it, the picture is the one drawn at that view from the start (a
    ScatterPlotItem cached as pixels had lost such a point), with every finite point in
    view drawn."""
    panned, markers = _markers_widget(qtbot, (-1, 3))
    panned.grab()
    panned.getPlotItem().vb.translateBy(x=-0.5)
    qtbot.wait(50)
    fresh, _ = _markers_widget(qtbot, (-1.5, 2.5))
    images = [widget.grab().toImage() for widget in (panned, fresh)]
    assert images[0] == images[1]
    view = fresh.getPlotItem().vb
    for x, y in [(-1.15, 0.0), (2.0, 1.0)]:   # the star's orange fill at each point in view
        pixel = fresh.mapFromScene(view.mapViewToScene(pg.Point(x, y)))
        assert images[1].pixelColor(pixel.x(), pixel.y()).name() == "#d55e00"
    assert markers.dataBounds(0) == (-1.15, 5.0) and markers.dataBounds(1) == (-1.0, 3.0)
    # a view fitting itself to them frames them as it framed the ScatterPlotItem they replace
    scatter = pg.ScatterPlotItem([0.0], [0.0], symbol="star", size=18, pen=pg.mkPen("k", width=2))
    assert markers.pixelPadding() == pytest.approx(scatter.pixelPadding())
    x, y = markers.getData()
    assert x.size == 4 and np.isnan(x[3])
    markers.setData([], [])
    assert not markers.isVisible() and markers.boundingRect().isNull() and markers.dataBounds(0) == (None, None)


def test_drawn_rows_of_a_long_race_only_extend_as_it_plays():
    """A path longer than MAX_DRAWN_POINTS: the rows it is drawn through are every k-th
    from row 0 and the last, k a power of two, so as the path grows the earlier rows stay
    (the settled part only grows) but where k doubles: 7 times in 100000 rows. Evenly
    spaced over the rows so far, they had all moved at every frame. A path keeps at least
    half the rows evenly spaced ones would give it."""
    from hillwalk.gui.panels.markers import MAX_DRAWN_POINTS, drawn_rows

    before, doublings = None, 0
    for count in list(range(1, 50)) + list(range(1400, 100002, 97)) + [100001]:
        rows = np.arange(count)[drawn_rows(count)]
        assert rows[0] == 0 and rows[-1] == count - 1 and np.all(np.diff(rows) > 0)
        assert min(count, MAX_DRAWN_POINTS // 2) <= rows.size <= MAX_DRAWN_POINTS + 1
        if before is not None and before.size > 2 and rows.size > 2:
            if rows[1] == before[1]:   # the same k: every row but the moving last one stays, in order
                np.testing.assert_array_equal(rows[:before.size - 1], before[:-1])
            else:
                assert rows[1] == 2 * before[1]
                doublings += 1
        before = rows
    assert doublings == 7


def test_a_long_race_played_strokes_only_new_segments(qtbot, monkeypatch):
    """Three 6000-row paths (four times MAX_DRAWN_POINTS) played 30 rows a frame, drawn
    through drawn_rows as the heatmap draws them: the settled layers stroke each drawn row
    about once, and all of them again only where the stride doubles (three times here), not
    every method's whole trail at every frame."""
    from hillwalk.gui.panels.markers import MAX_DRAWN_POINTS, drawn_rows

    widget, markers, _walks = _race_plot(qtbot)
    rng = np.random.default_rng(1)
    steps = 6000
    walks = {k: (np.cumsum(rng.normal(size=steps + 1)) / 5, np.abs(np.cumsum(rng.normal(size=steps + 1))) / 5 + 1)
             for k in range(3)}
    stroked = []
    original = pg.arrayToQPath
    monkeypatch.setattr(pg, "arrayToQPath", lambda x, y, **kwargs: (stroked.append(len(x)), original(x, y, **kwargs))[1])
    frames = range(2, steps + 2, 30)
    for upto in frames:
        for k, (x, y) in walks.items():
            keep = drawn_rows(upto)
            markers.set_trail(k, x[keep], y[keep])
        widget.grab()
    settled_points = sum(markers.settled.part_data(k)[0].size for k in walks)
    tails = len(frames) * len(walks) * (SETTLED_BLOCK + 3)   # the tails, at most this
    layers = 2 * (settled_points + settled_points // SETTLED_BLOCK + len(walks))   # halos and lines
    doublings = 3 * 2 * len(walks) * (MAX_DRAWN_POINTS + MAX_DRAWN_POINTS // SETTLED_BLOCK + 2)   # all again, 3 times
    assert sum(stroked) <= layers + tails + doublings
