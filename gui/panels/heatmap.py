"""The central view: the 2-D slice as a heatmap with the optimizer race on it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from core.landscapes.landscape import Component, Landscape

from ..figures import LandscapeFigure, component_label
from .markers import RunMarkers, rows_up_to


class HeatmapPanel(QtWidgets.QWidget):
    """Heatmap of ``state.landscape`` with contours, colour bar, the cut's line, the start,
    and every run's trail and current position. Clicking sets the race's start; moving
    the mouse reports (a, b, value) through ``readout``."""

    readout = QtCore.pyqtSignal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.figure = LandscapeFigure()
        self.figure.setObjectName("heatmapFigure")
        layout.addWidget(self.figure)
        self.info = QtWidgets.QLabel("")
        self.info.setObjectName("heatmapInfo")
        self.info.setWordWrap(True)
        self.info.setToolTip("Directions of the plane and how far each path is from it (off-plane: 0% lies in the "
                             "plane, 100% is orthogonal to it)")
        layout.addWidget(self.info)
        plot = self.figure.plot
        self.cut_line = pg.PlotDataItem([], [], pen=pg.mkPen("w", width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.cut_line.setZValue(15)
        plot.addItem(self.cut_line)
        self.start_marker = pg.ScatterPlotItem([], [], symbol="s", size=11, pen=pg.mkPen("k", width=1.5),
                                               brush=pg.mkBrush("w"))
        self.start_marker.setZValue(25)
        plot.addItem(self.start_marker)
        # bottom right: the race usually starts elsewhere (the default start is top left)
        self.legend = plot.addLegend(offset=(-10, -10), labelTextColor="k", brush=(255, 255, 255, 200))
        crosshair_pen = pg.mkPen((40, 40, 40, 120), width=1)
        self.crosshair = (pg.InfiniteLine(angle=90, pen=crosshair_pen), pg.InfiniteLine(angle=0, pen=crosshair_pen))
        for line in self.crosshair:
            line.setZValue(30)
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        self.markers = RunMarkers(plot)
        self.trails, self.heads = self.markers.trails, self.markers.heads
        self._shown_landscape = None
        self.figure.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.figure.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        state.landscape_ready.connect(self._on_landscape_ready)
        state.contours_ready.connect(self._on_contours_ready)
        state.view_changed.connect(self._on_view_changed)
        state.runs_updated.connect(self._on_runs_updated)
        state.optimizers_changed.connect(self._on_runs_updated)
        state.frame_changed.connect(self._on_frame_changed)
        state.race_changed.connect(self._draw_start)
        state.plane_ready.connect(self._draw_start)

    # ----------------------------------------------------------------- landscape
    def _on_landscape_ready(self, final):
        state = self.state
        if final and state.landscape is not None:
            self._draw_landscape(state.landscape)
        elif state.preview is not None and state.plane is not None:
            alphas, betas, values = state.preview
            self._draw_landscape(Landscape(values, alphas, betas, Component.parse(state.slice.component), state.plane,
                                           "preview"))

    def _draw_landscape(self, landscape):
        view = self.state.view
        previous = self._shown_landscape
        self._shown_landscape = landscape
        objective = self.state.objective
        function = objective is not None and hasattr(objective, "view")
        title = f"{objective.name}: {objective.formula}" if function else \
            f"{self.state.problem.loss} {component_label(landscape.component)}"
        if landscape.method == "preview":
            title += " (coarse preview)"
        # A coarse preview is cheap to trace here; a full grid's contours come from a worker
        # (contours_ready); a redraw of the same grid keeps the lines it has.
        keep = previous is landscape and landscape.method != "preview"
        segments = None if landscape.method == "preview" else (
            self.figure.contour_item.getData() if keep else np.zeros((0, 2, 2)))
        if keep:
            x, y = segments
            segments = np.zeros((0, 2, 2)) if x is None else np.stack([x, y], axis=1).reshape(-1, 2, 2)
        self.figure.show_landscape(landscape, colormap=view.colormap, log_scale=view.log_scale,
                                   contours=view.contours, title=title, segments=segments,
                                   value_label="f(x, y)" if function else None)
        if function:  # stars at the known minima instead of a centre cross
            self.figure.center_marker.setData([m[0] for m in objective.minima], [m[1] for m in objective.minima],
                                              symbol="star", size=18, brush=pg.mkBrush("w"))
        else:
            self.figure.center_marker.setData([0], [0], symbol="+", size=16, brush=None)
        self._draw_cut_line()
        self._draw_start()
        self._on_frame_changed(self.state.frame)  # the legend is rebuilt only when runs change

    def _on_contours_ready(self, landscape, segments):
        if landscape is self._shown_landscape:
            self.figure.show_contours(segments)

    def _on_view_changed(self):
        if self._shown_landscape is not None:
            self._draw_landscape(self._shown_landscape)

    def _draw_cut_line(self):
        origin, direction, (s0, s1) = self.state.cut_line()
        ends = np.array([origin + s0 * direction, origin + s1 * direction])
        self.cut_line.setData(ends[:, 0], ends[:, 1])

    def _draw_start(self):
        a, b = self.state.race.start
        self.start_marker.setData([a], [b])
        self._draw_cut_line()

    # ----------------------------------------------------------------- runs
    def _on_runs_updated(self):
        state = self.state
        wanted = self.markers.sync(e for e in state.optimizers if e.enabled)
        self.legend.clear()
        for entry_id, entry in wanted.items():
            run = state.runs.get(entry_id)
            label = run.label if run is not None else entry.spec.display_name
            if run is not None and run.diverged_at is not None:
                label += f" (diverged at step {run.diverged_at})"
            self.legend.addItem(self.trails[entry_id], label)
        self._on_frame_changed(state.frame)

    def _on_frame_changed(self, frame):
        notes = []
        for entry_id, trail in self.trails.items():
            run = self.state.runs.get(entry_id)
            head = self.heads[entry_id]
            if run is None or run.steps.size == 0:
                self.markers.clear(entry_id)
                continue
            upto = rows_up_to(run, frame)
            trail.setData(run.a[:upto], run.b[:upto])
            ended = run.diverged_at is not None and upto >= run.steps.size
            head.setData([run.a[upto - 1]], [run.b[upto - 1]], symbol="x" if ended else "o",
                         size=16 if ended else 12)
            notes.append(f"{run.label}: off-plane {100 * run.off_plane[upto - 1]:.0f}%")
        plane = self.state.plane
        text = ""
        if plane is not None:
            text = f"{plane.describe_axis(1)}  |  {plane.describe_axis(2)}" if plane.dir2 is not None else ""
        if notes:
            text += "<br>" + "; ".join(notes) + f" (step {frame})"
        self.info.setText(text)

    # ----------------------------------------------------------------- mouse
    def _plane_point(self, scene_pos):
        view_box = self.figure.plot.vb
        if not view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = view_box.mapSceneToView(scene_pos)
        return point.x(), point.y()

    def value_at(self, a, b):
        landscape = self._shown_landscape
        if landscape is None or landscape.betas is None:
            return None
        i = int(np.argmin(np.abs(landscape.alphas - a)))
        j = int(np.argmin(np.abs(landscape.betas - b)))
        inside = (landscape.alphas[0] <= a <= landscape.alphas[-1]) and (landscape.betas[0] <= b <= landscape.betas[-1])
        return float(landscape.values[j, i]) if inside else None

    def _on_mouse_moved(self, scene_pos):
        point = self._plane_point(scene_pos)
        if point is None:
            return
        a, b = point
        for line, position in zip(self.crosshair, (a, b)):
            line.setPos(position)
            line.setVisible(True)
        value = self.value_at(a, b)
        text = f"a = {a:.4g}, b = {b:.4g}"
        if value is not None:
            text += f", {component_label(self.state.slice.component)} = {value:.6g}"
        self.readout.emit(text)

    def _on_mouse_clicked(self, event):
        if event.button() != QtCore.Qt.MouseButton.LeftButton or event.double():
            return
        point = self._plane_point(event.scenePos())
        if point is not None and self.value_at(*point) is not None:
            self.state.set_start(*point)

    def scene_position_of(self, a, b):
        """Scene coordinates of plane point (a, b) (for tests and tooling)."""
        return self.figure.plot.vb.mapViewToScene(QtCore.QPointF(a, b))


