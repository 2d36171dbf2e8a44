"""The 1-D cut through the slice, with the race animated along it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.optimization.trajectory import UNBOUNDED_LOSS_FLOOR

from ..figures import (
    LOG_TICK_PX,
    FittedAxisLabels,
    MenuOnDemandViewBox,
    clip_for_log,
    component_label,
    log_ticks,
    modes_note,
    set_axis_label,
    show_axis,
)
from ..pacing import CUT_FOLLOWS_MS, DeferredSlot
from .markers import RunMarkers, drawn_rows, finite_rows, rows_up_to
from .widgets import combo, select_data, set_quietly

# Where the loss of an objective unbounded below (a saddle) is clipped before drawing; the
# core defines the project-wide floor, this view's copy is named for what it does here.
LOSS_CURVE_FLOOR = UNBOUNDED_LOSS_FLOOR  # where an escape to -inf is called (core)
CUT_POINT_LIMIT = 1000.0  # the end points' spin boxes stay narrow (a slice's range is rarely past 10)


def cut_coefficients(origin, direction, plane) -> np.ndarray:
    """The (2,) weights ``c`` with which a point (a, b) of the plane projects on the cut
    ``origin + s * direction`` at ``s = c[0] (a - origin[0]) + c[1] (b - origin[1])``.

    The projection uses the plane's metric (its directions need be neither unit nor
    orthogonal): ``s = q^T G w / w^T G w`` with ``q = (a, b) - origin``, ``w`` the cut's
    direction in plane coordinates and ``G`` the Gram matrix of d1, d2, so ``c = G w /
    w^T G w``. (Computed once per frame for every method: the Gram matrix is three dot
    products over all the parameters.)
    """
    d1, d2 = plane.dir1.ravel(), plane.dir2.ravel()
    gram = np.array([[d1 @ d1, d1 @ d2], [d1 @ d2, d2 @ d2]])
    w = np.asarray(direction, dtype=float)
    return gram @ w / (w @ gram @ w)


def positions_on_cut(a, b, origin, direction, plane, coefficients=None):
    """Where points (a, b) (arrays (R,)) of the plane project on the cut ``origin + s *
    direction``: s, (R,) (see :func:`cut_coefficients`, which may be given)."""
    c = cut_coefficients(origin, direction, plane) if coefficients is None else coefficients
    return (np.asarray(a) - origin[0]) * c[0] + (np.asarray(b) - origin[1]) * c[1]


class CutPanel(QtWidgets.QWidget):
    """The cut's curve (through the centre at an angle, or between two points) and each
    method's position projected onto it, drawn at its true loss with a trail."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        controls = QtWidgets.QHBoxLayout()
        self.mode = combo([("through the centre", "angle"), ("between two points", "points")], state.view.cut_mode,
                          "Cut through the centre at an angle, or along the line between two points of the plane")
        self.mode.setObjectName("cutMode")
        self.angle = QtWidgets.QSpinBox()
        self.angle.setObjectName("cutAngle")
        self.angle.setRange(0, 179)
        self.angle.setSuffix(" deg")
        self.angle.setValue(int(state.view.cut_angle))
        self.angle.setToolTip("Angle of the cut from the a axis, in the plane's (a, b) coordinates")
        self.points = [QtWidgets.QDoubleSpinBox() for _ in range(4)]
        for spin, value, name in zip(self.points, np.ravel(state.view.cut_points), ("a1", "b1", "a2", "b2")):
            spin.setRange(-CUT_POINT_LIMIT, CUT_POINT_LIMIT)
            spin.setDecimals(2)
            spin.setSingleStep(0.1)
            spin.setValue(value)
            spin.setPrefix(f"{name[0]} ")
            spin.setObjectName(f"cutPoint_{name}")
            spin.setToolTip("End points of the cut in plane coordinates (a, b); the heatmap marks them 1 and 2")
        controls.addWidget(QtWidgets.QLabel("Cut:"))
        controls.addWidget(self.mode)
        controls.addWidget(self.angle)
        controls.addStretch(1)
        layout.addLayout(controls)
        # The end points get two rows of their own (point 1, point 2, as the heatmap numbers
        # them): side by side with the mode they made the panel so wide that the curves
        # beside it were squeezed.
        self.points_row = QtWidgets.QWidget()
        points_layout = QtWidgets.QGridLayout(self.points_row)
        points_layout.setContentsMargins(0, 0, 0, 0)
        for row in range(2):
            points_layout.addWidget(QtWidgets.QLabel(f"point {row + 1}:"), row, 0)
            points_layout.addWidget(self.points[2 * row], row, 1)
            points_layout.addWidget(self.points[2 * row + 1], row, 2)
        points_layout.setColumnStretch(3, 1)
        layout.addWidget(self.points_row)
        self.plot_widget = pg.PlotWidget(background="w", viewBox=MenuOnDemandViewBox())
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLabel("bottom", "s: position along the cut", color="k")
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1f4e9c", width=2))
        self.curve.curve.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # s = 0 and s = 1 are the end points 1 and 2 of a cut between two points
        self.end_lines = [pg.InfiniteLine(s, angle=90, pen=pg.mkPen("#777777", style=QtCore.Qt.PenStyle.DotLine),
                                          label=name, labelOpts={"position": 0.95, "color": "k"})
                          for s, name in ((0.0, "1"), (1.0, "2"))]
        for line in self.end_lines:
            line.setVisible(False)
            self.plot.addItem(line, ignoreBounds=True)
        for side in ("bottom", "left"):  # no placeholder axes before the first cut
            self.plot.showAxis(side, False)
        # a log loss axis numbered as its height holds (pyqtgraph labels every minor tick:
        # 0.02 .. 1 piled up on the 120 px of a 1280 x 720 window); (low, high) of the cut's values
        self._log_extent = None
        self._drawn_log = None   # the colour scale the cut is drawn in (log or linear)
        self.plot.vb.sigResized.connect(self._fit_log_ticks)
        self.markers = RunMarkers(self.plot, trail_width=1.5, head_size=11)
        self.trails, self.heads = self.markers.trails, self.markers.heads
        layout.addWidget(self.plot_widget)
        self.labels = FittedAxisLabels(self)   # the y label in full where the plot is tall enough
        self.mode.currentIndexChanged.connect(self._on_controls_changed)
        self.angle.valueChanged.connect(self._on_controls_changed)
        for spin in self.points:
            spin.valueChanged.connect(self._on_controls_changed)
        state.cut_ready.connect(self._on_cut_ready)
        state.view_changed.connect(self._sync_controls)
        # a few ms after the heatmap, in a turn of the event loop of its own (see gui.pacing)
        # (a new frame too: the redraw draws the runs up to the state's frame at that time)
        DeferredSlot(self, (state.runs_updated, state.frame_changed), self._on_runs_updated, CUT_FOLLOWS_MS)
        self._sync_controls()

    def _sync_controls(self):
        view = self.state.view
        select_data(self.mode, view.cut_mode)
        set_quietly(self.angle, int(round(view.cut_angle)))
        for spin, value in zip(self.points, np.ravel(view.cut_points)):
            set_quietly(spin, float(value))
        points_mode = view.cut_mode == "points"
        self.angle.setVisible(not points_mode)
        self.points_row.setVisible(points_mode)
        for line in self.end_lines:
            line.setVisible(points_mode)
        # a new colour scale redraws the cut on its loss axis (it stayed as it was until the
        # next cut was computed)
        if self.state.cut is not None and self._drawn_log is not None and self._drawn_log != bool(view.log_scale):
            self._on_cut_ready()

    def _on_controls_changed(self):
        values = [spin.value() for spin in self.points]
        self.state.set_view(cut_mode=self.mode.currentData(), cut_angle=float(self.angle.value()),
                            cut_points=((values[0], values[1]), (values[2], values[3])))

    def _on_cut_ready(self):
        cut = self.state.cut
        log = self.state.view.log_scale
        self._drawn_log = bool(log)
        values = clip_for_log(cut.values) if log else np.maximum(cut.values, LOSS_CURVE_FLOOR)
        for side in ("bottom", "left"):
            show_axis(self.plot, side)
        self.plot.setLogMode(False, bool(log))
        finite = np.isfinite(values)
        self.curve.setData(cut.alphas[finite], values[finite])
        # Range from the cut itself, fixed: re-deriving it from every moving marker each
        # frame would cost more than drawing them.
        shown = np.log10(values[finite]) if log else values[finite]
        low, high = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
        pad = 0.05 * (high - low or 1.0)
        self.plot.setRange(xRange=(cut.alphas[0], cut.alphas[-1]), yRange=(low - pad, high + pad), padding=0)
        self._log_extent = (10.0 ** low, 10.0 ** high) if log and shown.size else None
        self._fit_log_ticks()
        function = hasattr(self.state.objective, "view")
        self.labels.set(self.plot.getAxis("left"), *(("f(x, y)",) if function else (
            component_label(cut.component), component_label(cut.component, short=True))))
        # a network with batch norm or dropout: the mode the cut was evaluated in, as recorded
        modes = modes_note(getattr(cut.plane, "info", None) or {}, short=True)
        set_axis_label(self.plot.getAxis("bottom"), f"s: along the cut ({modes})" if modes else "s: position along the cut")
        self._on_frame_changed(self.state.frame)

    def _fit_log_ticks(self, *_arguments):
        height = self.plot.vb.height()
        ticks = None
        if self._log_extent is not None and height > 0:
            shown = tuple(10.0 ** np.asarray(self.plot.vb.viewRange()[1]))   # (log mode: log10 units)
            ticks = log_ticks(*self._log_extent, max_ticks=max(2, int(height // LOG_TICK_PX)), shown=shown)
        self.plot.getAxis("left").setTicks(ticks)   # None: pyqtgraph's own (a linear scale)

    def _on_runs_updated(self):
        self.markers.sync(e for e in self.state.optimizers if e.enabled)
        self._on_frame_changed(self.state.frame)

    def _on_frame_changed(self, frame):
        state = self.state
        plane = state.plane
        if plane is None or plane.dir2 is None:
            return
        origin, direction, _ = state.cut_line()
        coefficients = None   # (computed at the first method that needs them)
        log = state.view.log_scale
        for entry_id in list(self.trails):
            run = state.runs.get(entry_id)
            if run is None or run.steps.size == 0:
                self.markers.clear(entry_id)
                continue
            upto = rows_up_to(run, frame)
            # shown up to the same row, on the same cut and scale, as last time: it stays
            if not self.markers.drawn.changed(entry_id, (run, plane),
                                              (upto, tuple(np.ravel(origin)), tuple(np.ravel(direction)), log)):
                continue
            rows = drawn_rows(upto)
            if coefficients is None:
                coefficients = cut_coefficients(origin, direction, plane)
            s = positions_on_cut(run.a[rows], run.b[rows], origin, direction, plane, coefficients)
            loss = np.maximum(run.loss[rows], 1e-300 if log else LOSS_CURVE_FLOOR)
            keep = finite_rows(s, loss)  # a diverged run ends in inf/NaN
            if not keep.any():
                self.markers.clear(entry_id)
                continue
            s, loss = s[keep], loss[keep]
            self.markers.set_trail(entry_id, s, loss)
            # scatter items are not transformed by the plot's log mode: place them in log10 units
            self.markers.move_head(entry_id, s[-1], np.log10(loss[-1]) if log else loss[-1])
