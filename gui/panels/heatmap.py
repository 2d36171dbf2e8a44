"""The central view: the 2-D slice as a heatmap with the optimizer race on it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from ..contours import no_lines
from ..figures import LandscapeFigure, component_label, draws_equal_scales, loss_title, modes_note
from ..state import run_label
from .markers import PixelMarker, PixelMarkers, RunMarkers, drawn_rows, last_finite_row, rows_up_to
from .widgets import run_ending_note

# positive values more than this many times apart: the note suggests the log colour scale
# (on a linear one the lowest decades share one colour)
WIDE_SPAN = 1e4


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
        # drawn by Qt (see PixelMarker): it is on screen, and repainted, at every frame of a race
        self.start_marker = PixelMarker("s", 11, brush="w")
        self.start_marker.setZValue(25)
        plot.addItem(self.start_marker, ignoreBounds=True)
        # the two end points of a cut "between two points", numbered as in the Cut controls
        self.cut_ends = PixelMarkers("d", 13, pen=pg.mkPen("k", width=1.5), brush="w")
        self.cut_ends.setZValue(26)
        plot.addItem(self.cut_ends)
        self.cut_end_labels = [pg.TextItem(name, color="k", fill=pg.mkBrush(255, 255, 255, 200), anchor=(-0.3, 1.1))
                               for name in ("1", "2")]
        for label in self.cut_end_labels:
            label.setZValue(26)
            label.setVisible(False)  # shown for a cut between two points
            plot.addItem(label, ignoreBounds=True)
        # in a row of its own under the plot, so that it never covers a path
        self.legend = self.figure.legend_below()
        self._legend_entries = None  # the (label, colour) pairs the legend shows
        crosshair_pen = pg.mkPen((40, 40, 40, 120), width=1)
        self.crosshair = (pg.InfiniteLine(angle=90, pen=crosshair_pen), pg.InfiniteLine(angle=0, pen=crosshair_pen))
        for line in self.crosshair:
            line.setZValue(30)
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        self.markers = RunMarkers(plot, halo=True, rings=True)
        self.trails, self.heads = self.markers.trails, self.markers.heads
        self._shown_landscape = None
        self._span = (None, None)   # (landscape, (smallest, largest) positive value or None): see _wide_span
        self.figure.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.point_curvature_ready.connect(self._on_point_curvature)
        self.figure.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        state.landscape_ready.connect(self._on_landscape_ready)
        state.contours_ready.connect(self._on_contours_ready)
        state.view_changed.connect(self._on_view_changed)
        state.runs_updated.connect(self._on_runs_updated)
        state.frame_changed.connect(self._on_frame_changed)
        state.race_changed.connect(self._draw_start)
        state.plane_ready.connect(self._draw_start)
        state.view_changed.connect(self._draw_cut_line)

    # ----------------------------------------------------------------- landscape
    def _on_landscape_ready(self, final):
        state = self.state
        if final and state.landscape is not None:
            self._draw_landscape(state.landscape)
        elif state.preview is not None and state.plane is not None:
            self._draw_landscape(state.preview)

    def _draw_landscape(self, landscape):
        view = self.state.view
        previous = self._shown_landscape
        self._shown_landscape = landscape
        objective = self.state.objective
        function = objective is not None and objective.has_own_plane
        title = f"{objective.name}: {objective.formula}" if function else \
            loss_title(self.state.problem, landscape.component)
        modes = modes_note(landscape.plane.info)
        if modes:  # the mode the slice was computed in, as recorded with it
            title += f" ({modes})"
        if landscape.method == "preview":
            title += " (coarse preview)"
        # A coarse preview is cheap to trace here; a full grid's contours come from a worker
        # (contours_ready); a redraw of the same grid keeps the lines it has.
        keep = previous is landscape and landscape.method != "preview"
        lines = None if landscape.method == "preview" else (self.figure.contour_lines if keep else no_lines())
        self.figure.set_equal_scales(draws_equal_scales(view.axis_scales, landscape.plane))
        self.figure.show_landscape(landscape, colormap=view.colormap, log_scale=view.log_scale,
                                   contours=view.contours, title=title, lines=lines,
                                   value_label="f(x, y)" if function else None, narrow=True)
        self._draw_cut_line()
        self._draw_start()
        self._on_frame_changed(self.state.frame)  # the legend is rebuilt only when runs change

    def _wide_span(self, landscape):
        """(smallest, largest) positive value of ``landscape`` where they are more than
        WIDE_SPAN apart (a linear colour scale shows the top decades only), else None;
        computed once a landscape (the note is written every frame)."""
        if landscape is None or landscape.method == "preview":
            return None
        if self._span[0] is not landscape:
            values = landscape.values[np.isfinite(landscape.values) & (landscape.values > 0)]
            low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
            self._span = (landscape, (low, high) if low > 0 and high > WIDE_SPAN * low else None)
        return self._span[1]

    def _on_contours_ready(self, landscape, lines):
        if landscape is self._shown_landscape:
            self.figure.show_contours(lines)

    def _on_view_changed(self):
        if self._shown_landscape is not None:
            self._draw_landscape(self._shown_landscape)

    def _draw_cut_line(self):
        origin, direction, (s0, s1) = self.state.cut_line()
        ends = np.array([origin + s0 * direction, origin + s1 * direction])
        self.cut_line.setData(ends[:, 0], ends[:, 1])
        between_points = self.state.view.cut_mode == "points"
        points = np.array([origin, origin + direction]) if between_points else np.zeros((0, 2))
        self.cut_ends.setData(points[:, 0], points[:, 1])
        for label, point in zip(self.cut_end_labels, points if between_points else [None, None]):
            label.setVisible(point is not None)
            if point is not None:
                label.setPos(float(point[0]), float(point[1]))

    def _draw_start(self):
        a, b = self.state.race.start
        self.start_marker.place(a, b)
        self._draw_cut_line()

    # ----------------------------------------------------------------- runs
    def _on_runs_updated(self):
        state = self.state
        wanted = self.markers.sync(e for e in state.optimizers if e.enabled)
        entries = []
        has_data = state.objective is not None and state.objective.has_data
        for entry_id, entry in wanted.items():
            run = state.runs.get(entry_id)
            # the label a run will carry, before it starts too: a restart keeps the legend
            label = run.label if run is not None else run_label(entry.spec, has_data)
            if run is not None:
                label += run_ending_note(run)
            entries.append((entry_id, label, entry.color))
        # runs_updated fires for every increment of every run: rebuild the legend (and
        # with it the figure's layout) only when what it says changes
        if entries != self._legend_entries:
            previous = self._legend_entries or []
            same_runs = [(i, c) for i, _, c in entries] == [(i, c) for i, _, c in previous]
            if same_runs and len(self.legend.items) == len(entries):
                # only words changed (a learning rate, "diverged"): the labels' texts, in place
                # (clearing and adding every entry cost 5-7 ms of layout)
                for (_sample, label_item), (_, label, _) in zip(self.legend.items, entries):
                    if label_item.text != label:
                        label_item.setText(label)
            else:
                self.legend.clear()
                for entry_id, label, _color in entries:
                    self.legend.addItem(self.trails[entry_id], label)
            self._legend_entries = entries
            self.figure.fit_legend_columns()
        self._on_frame_changed(state.frame)

    def _on_frame_changed(self, frame):
        notes = []
        for entry_id in list(self.trails):
            run = self.state.runs.get(entry_id)
            upto = rows_up_to(run, frame) if run is not None and run.steps.size else 0
            # a diverged run records inf/NaN: draw up to its last finite point
            last = last_finite_row(upto, run.a, run.b) if upto else None
            if last is None:
                self.markers.clear(entry_id)
                continue
            ended = run.diverged_at is not None and upto >= run.steps.size
            share = float(run.off_plane[last])
            if self.markers.drawn.changed(entry_id, (run,), (last, ended)):   # else it keeps trail, head, ring
                keep = drawn_rows(last + 1)
                self.markers.set_trail(entry_id, run.a[keep], run.b[keep])
                self.markers.move_head(entry_id, run.a[last], run.b[last], "x" if ended else "o", 16 if ended else 12)
                self.markers.show_ring(entry_id, run.a[last], run.b[last], share)
            if np.isfinite(share):
                notes.append(f"{run.label}: off-plane {100 * share:.0f}%")
        plane, objective = self.state.plane, self.state.objective
        if plane is not None and objective is not None and objective.has_own_plane:
            # a 2-D function's own x and y: no directions to describe, and every path lies
            # in its plane; the note's lines are the heatmap's (equal scales need the height)
            if self.info.text():
                self.info.setText("")
                self.info.setMinimumHeight(0)
            self.info.setVisible(False)
            return
        self.info.setVisible(True)
        text = ""
        if plane is not None:
            text = f"{plane.describe_axis(1)}  |  {plane.describe_axis(2)}" if plane.dir2 is not None else ""
        shown = self._shown_landscape
        if shown is not None and shown.plane.info.get("modes"):
            text += f"<br>Modes of the slice: {shown.plane.info['modes']}"
        span = self._wide_span(shown) if not self.state.view.log_scale else None
        if span is not None:   # (a deep network's slice ran to 2e16: on a linear scale, one colour)
            text += (f"<br>The values span {span[0]:.2g} .. {span[1]:.2g}: the log colour scale (Landscape panel) "
                     "tells more of them apart")
        if notes:
            off = any(not note.endswith(" 0%") for note in notes)
            # the step only where the shares vary with it: paths in the plane keep one text
            # while the race plays
            text += "<br>" + "; ".join(notes) + (f" (step {frame})" if off else "")
            text += (" &mdash; a dashed ring round a marker grows with the share of the point's distance from "
                     "the centre that lies off the plane" if off else " &mdash; every path lies in the plane")
        if text != self.info.text():   # a new text lays the whole window out again (it wraps)
            self.info.setText(text)
            # The note keeps the tallest height its texts have needed at this width: when a
            # race restarts its notes go and come back, and each change of height resized
            # the figure (a full layout and paint of the heatmap, 2-3 per regularization
            # change). A new width starts again from the text's own height (resizeEvent).
            needed = self.info.heightForWidth(self.info.width())
            if needed > self.info.minimumHeight():
                self.info.setMinimumHeight(needed)

    def resizeEvent(self, event):
        if event.size().width() != event.oldSize().width():
            self.info.setMinimumHeight(0)   # see _on_frame_changed
        super().resizeEvent(event)

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
        self._readout_text = text
        self.readout.emit(text)
        if self.state.view.readout_curvature and value is not None:
            self.state.request_point_curvature(a, b)   # computed in a worker; shown when it lands

    def _on_point_curvature(self, a, b, eigenvalues):
        """Add the slice's principal curvatures at (a, b) to the readout (if the mouse is
        still there: a late answer for an old position is not shown)."""
        text = getattr(self, "_readout_text", "")
        if not text.startswith(f"a = {a:.4g}, b = {b:.4g}"):
            return
        low, high = (float(v) for v in eigenvalues)
        shape = "a bowl" if low > 0 else ("a saddle of the slice" if high > 0 > low else
                                          "a dome" if high < 0 else "flat in a direction")
        self.readout.emit(f"{text}; curvatures in the plane {high:.4g}, {low:.4g} ({shape})")

    def _on_mouse_clicked(self, event):
        if event.button() != QtCore.Qt.MouseButton.LeftButton or event.double():
            return
        point = self._plane_point(event.scenePos())
        if point is not None and self.value_at(*point) is not None:
            self.state.set_start(*point)

    def scene_position_of(self, a, b):
        """Scene coordinates of plane point (a, b) (for tests and tooling)."""
        return self.figure.plot.vb.mapViewToScene(QtCore.QPointF(a, b))


