"""Loss, accuracy and gradient-norm curves of every method, with a cursor at the
animation's step."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.optimization.trajectory import UNBOUNDED_LOSS_FLOOR

from ..figures import LOG_TICK_PX, MenuOnDemandViewBox, log_floor, log_ticks, set_title, show_axis
from ..pacing import CURVES_FOLLOW_MS, DeferredSlot
from .markers import DrawnFrom, SettledTrails
from .widgets import run_ending_note

# Where the loss of an objective unbounded below (a saddle) is clipped before drawing; the
# core defines the project-wide floor, this view's copy is named for what it does here.
LOSS_CURVE_FLOOR = UNBOUNDED_LOSS_FLOOR  # where an escape to -inf is called (core)
CURVE_POINTS = 2000
GRADIENT_TITLE = "gradient norm (of the step's minibatch)"   # a classifier's; a 2-D function's has no minibatch
# how a curve is named in an export of its plot's data
CURVE_NAMES = {"loss": "full-data loss", "train": "training accuracy", "val": "validation accuracy",
               "grad": "gradient norm"}
CURVE_WIDTH = 2          # px
HOVER_PIXELS = 6         # a curve this close to the mouse names itself in a tooltip
# room beside 0 .. steps on the x axis, so that the last tick's label (300) is not cut off
STEPS_PADDING = 0.05
MIN_PLOT_HEIGHT = 90  # px per plot; with less room the panel shows one plot at a time
PLOT_NAMES = ("Loss", "Accuracy", "Gradient")  # short: the tab bar must fit beside the check box at 1024 px
# The plots' y ranges are the panel's, not pyqtgraph's autorange, which at every update of
# a race took every curve's bounds, moved the range and laid the axes out again (3-4 ms of
# the GUI thread an update; in a paint under load up to 38 ms for the bounds and 52 ms for
# the axes). While the curves grow the range stays until they leave it or fill less than
# Y_SHRINK_FILL of it, and is then set with room for them to grow (Y_GROWTH times their
# span); once every run has ended it fits them as autorange did (the view box's suggested
# padding each side: 2-10% of the span, more for a shorter plot). Y_PADDING is the room
# the curves need inside a range that holds them while they grow.
Y_PADDING = 0.05
Y_GROWTH = 1.6
Y_SHRINK_FILL = 0.3


def steady_range(current, low, high, final, log, final_padding=Y_PADDING):
    """The y range (bottom, top) of a plot whose curves span ``low`` .. ``high`` (plot
    coordinates), given the ``current`` one or None: ``current`` while it holds the curves
    with Y_PADDING of their span each side and they fill at least Y_SHRINK_FILL of it, else
    a range Y_GROWTH times their span around them; with ``final`` (the curves will not grow)
    their span padded by ``final_padding`` each side (pass the view box's
    ``suggestPadding(1)`` to frame them as pyqtgraph's autorange does)."""
    span = high - low
    if span <= 0:   # one value: a decade (log), a tenth of it around it, or -0.5 .. 0.5 around 0
        span = 1.0 if log or high == 0 else abs(high) * 0.1
        low, high = low - span / 2, high + span / 2
    if final:
        return low - final_padding * span, high + final_padding * span
    tight = (low - Y_PADDING * span, high + Y_PADDING * span)
    if current is not None:
        bottom, top = current
        if bottom <= tight[0] and tight[1] <= top and span >= Y_SHRINK_FILL * (top - bottom):
            return current
    room = (Y_GROWTH - 1.0) * span / 2
    return low - room, high + room


def curve_rows(count, ended, steps):
    """Which of a run's first ``count`` rows its curves go through: every k-th row from
    row 0, k the race's ``steps`` over CURVE_POINTS (at least 1), and the last row once the
    run has ended. The rows of a growing run only ever extend (its curves stroke only their
    new segments, see :class:`CurveLayer`); before the end a long run's curve lags its last
    row by less than k steps. A run that has ended takes k from its own rows (one that
    diverged at step 300 of 100000 is drawn through all of them, not 7). Returns a slice
    or an int array."""
    every = max(1, -(-int(min(steps, count) if ended else steps) // CURVE_POINTS))
    if every == 1:
        return slice(0, count)
    rows = np.arange(0, count, every)
    if ended and count and rows[-1] != count - 1:
        rows = np.append(rows, count - 1)
    return rows


class CurveLayer(SettledTrails):
    """Every method's curve on one plot, kept as a pixel layer to which a growing curve
    adds only its new segments (:class:`~hillwalk.gui.panels.markers.SettledTrails`):
    re-stroking each running method's whole antialiased 2-px curve at every update cost
    0.7-1.5 ms a curve (Qt strokes wide antialiased lines slowly). A part is a curve,
    keyed ``(entry id, name)``. Hovering near a curve shows its ``labels`` entry as the
    tooltip, as the plot items' tooltips did."""

    def __init__(self):
        super().__init__(CURVE_WIDTH)
        self.labels = {}   # part key -> the tooltip naming its curve

    def label_near(self, scene_position) -> str:
        """The label of the curve within HOVER_PIXELS of ``scene_position`` (the nearest),
        or "" when none is."""
        to_scene = self.sceneTransform()
        best, best_distance = "", float(HOVER_PIXELS)
        px, py = scene_position.x(), scene_position.y()
        for key, label in self.labels.items():
            x, y = self.part_data(key)
            if x.size == 0:
                continue
            # the drawn points in scene pixels (the view's transform is a scale and a shift)
            sx = to_scene.m11() * x + to_scene.m21() * y + to_scene.dx()
            sy = to_scene.m12() * x + to_scene.m22() * y + to_scene.dy()
            distance = _distance_to_polyline(px, py, sx, sy)
            if distance <= best_distance:
                best, best_distance = label, distance
        return best

    def hoverEvent(self, event):
        self.setToolTip("" if event.isExit() else self.label_near(event.scenePos()))


def _distance_to_polyline(px, py, x, y) -> float:
    """The distance from (px, py) to the polyline through (x, y) ((R,) arrays; a non-finite
    point is a gap), inf when it has no finite point."""
    if x.size == 1:
        return float(np.hypot(x[0] - px, y[0] - py)) if np.isfinite(x[0] + y[0]) else np.inf
    x0, y0, x1, y1 = x[:-1], y[:-1], x[1:], y[1:]
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        distances = np.hypot(x0 + t * dx - px, y0 + t * dy - py)
    distances = distances[np.isfinite(distances)]
    return float(distances.min()) if distances.size else np.inf


class CurveData(pg.PlotDataItem):
    """One curve's points for pyqtgraph's exporters (a plot's "Export..." menu: CSV), never
    drawn (its :class:`CurveLayer` draws it): it reads the layer's points when asked, and
    is named after its method and curve."""

    def __init__(self, layer, key):
        super().__init__()
        self.layer, self.key = layer, key
        self.setVisible(False)

    def getOriginalDataset(self):
        return self.layer.part_points(self.key)

    def getData(self):
        return self.getOriginalDataset()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        return None, None   # (the panel frames its plots itself)


class CurvesPanel(QtWidgets.QWidget):
    """Three plots against the step (0 .. the race's steps); a vertical cursor follows the frame.
    Colours are those of the heatmap's legend and the Optimizers list. Where the panel is
    too short for three legible plots (less than MIN_PLOT_HEIGHT each), it shows one at a
    time, chosen with a tab bar."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QtWidgets.QHBoxLayout()
        self.log_loss = QtWidgets.QCheckBox("log loss")
        self.log_loss.setObjectName("curvesLogLoss")
        self.log_loss.setChecked(state.view.curves_log)
        self.log_loss.setToolTip("Show the loss on a logarithmic axis")
        top.addWidget(self.log_loss)
        top.addStretch(1)
        self.selector = QtWidgets.QTabBar()
        self.selector.setObjectName("curvesSelector")
        for name in PLOT_NAMES:
            self.selector.addTab(name)
        self.selector.setToolTip("The panel is short: choose the plot to show (all three show when it is taller)")
        self.selector.setDrawBase(False)
        self.selector.setExpanding(False)
        self.selector.setUsesScrollButtons(False)  # every tab whole: the panel asks for the room
        self.selector.setVisible(False)
        top.addWidget(self.selector)
        layout.addLayout(top)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout.addWidget(self.graphics)
        self.loss_plot = self.graphics.addPlot(row=0, col=0, title="full-data loss", viewBox=MenuOnDemandViewBox())
        self.accuracy_plot = self.graphics.addPlot(row=1, col=0, title="accuracy (train solid, validation dashed)",
                                                 viewBox=MenuOnDemandViewBox())
        self.gradient_plot = self.graphics.addPlot(row=2, col=0, title=GRADIENT_TITLE,
                                                 viewBox=MenuOnDemandViewBox())
        # The plots share their x range by construction (0 .. steps, or each autoranged on
        # the same gradient counts), not by pyqtgraph's x link: a link lines views up by
        # their pixels, and the plots hidden in the compact arrangement keep another width,
        # which stretched the range of the one shown.
        self.gradient_plot.setLogMode(False, True)
        self.gradient_plot.setLabel("bottom", "step", color="k")
        self.cursors = []
        for plot in (self.loss_plot, self.accuracy_plot, self.gradient_plot):
            cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#555555", style=QtCore.Qt.PenStyle.DashLine))
            cursor.setVisible(False)  # with the axes, once there is a run
            # It moves at every frame of a race. It is no part of the curves' range, and its
            # moves must not make the view box fit its range again (every child's bounds,
            # at every frame): no bounds, no Python call for its position changes.
            cursor.setFlag(cursor.GraphicsItemFlag.ItemSendsGeometryChanges, False)
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        self.plots = (self.loss_plot, self.accuracy_plot, self.gradient_plot)
        self.compact = False
        self._arranged = None   # (compact, the plots laid out) of the last arrangement
        for plot in self.plots:
            for side in ("bottom", "left"):  # no placeholder axes before the first run
                plot.showAxis(side, False)
        for plot in (self.loss_plot, self.accuracy_plot, self.gradient_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
            # these plots are short: label decades and halves only, never every minor tick
        # every method's curves, one layer a plot: "loss", "train" and "val" (dashed), "grad"
        self.layers = {"loss": CurveLayer(), "accuracy": CurveLayer(), "grad": CurveLayer()}
        for plot, layer in zip(self.plots, self.layers.values()):
            plot.addItem(layer)
        self.layers["grad"].setLogMode(False, True)
        self.curve_ids: set[int] = set()        # the entries whose curves are in the layers
        self._curve_data = {}                   # (entry id, curve name) -> its CurveData (exports)
        self._drawn = DrawnFrom()                # what each entry's curves were last set from
        self._hidden_behind = False             # some hidden plot missed an update (see _arrange_plots)
        self._loss_ticks = None                 # the ticks the loss axis was last given
        self._positive_ranges = {}              # column -> entry id -> (run, rows seen, their positive min, max)
        self._x_range = None                    # the x range set (0 .. steps), None: autoranged
        self._y_ranges = {}                     # id(plot) -> the y range the panel last set
        self.log_loss.toggled.connect(self._on_log_loss_toggled)
        # (the panel's own methods, not lambdas, on its widgets' and timers' signals: PyQt
        # disconnects a destroyed panel's methods, so a late signal of a closing window's
        # plot does not call into what is being destroyed)
        self.selector.currentChanged.connect(self._on_selector_changed)
        # the loss axis's ticks: how many labels fit, and which of them the range shows
        self.loss_plot.vb.sigResized.connect(self._on_loss_plot_changed)
        self.loss_plot.vb.sigYRangeChanged.connect(self._on_loss_plot_changed)
        state.view_changed.connect(self._on_view_changed)
        # after the heatmap and the cut, in a turn of the event loop of its own (see gui.pacing)
        DeferredSlot(self, (state.runs_updated,), self._on_runs_updated, CURVES_FOLLOW_MS)
        DeferredSlot(self, (state.frame_changed,), self._follow_frame, CURVES_FOLLOW_MS)
        state.objective_ready.connect(self._on_objective_ready)
        self._on_view_changed()

    def _on_objective_ready(self):
        compact = self.graphics.height() < len(self.available_plots()) * MIN_PLOT_HEIGHT
        if (compact, self.available_plots()) == self._arranged:
            return   # the same plots (a new regularization): laying them out again took 2 ms of its arrival
        self.compact = compact
        self._arrange_plots()

    # ----------------------------------------------------------------- layout
    def resizeEvent(self, event):
        super().resizeEvent(event)
        compact = self.graphics.height() < len(self.available_plots()) * MIN_PLOT_HEIGHT
        if compact != self.compact:
            self.compact = compact
            self._arrange_plots()

    def available_plots(self):
        """The plots that mean something for the objective: no accuracy for a 2-D function."""
        objective = self.state.objective
        if objective is not None and not objective.has_data:
            return [self.loss_plot, self.gradient_plot]
        return list(self.plots)

    def shown_plots(self):
        """The plots on screen: all that apply, or the one the tab bar picks."""
        available = self.available_plots()
        if not self.compact:
            return available
        chosen = self.plots[self.selector.currentIndex()]
        return [chosen if chosen in available else available[0]]

    def _on_selector_changed(self, _index):
        self._arrange_plots()

    def _on_loss_plot_changed(self, *_arguments):
        self._set_loss_ticks()

    def _arrange_plots(self):
        self._arranged = (self.compact, self.available_plots())
        layout = self.graphics.ci
        for plot in self.plots:
            if plot in layout.items:
                layout.removeItem(plot)
        available = self.available_plots()
        for index, plot in enumerate(self.plots):
            self.selector.setTabVisible(index, plot in available)
            plot.setVisible(plot in available)
        for index in range(self.selector.count()):
            # Qt lays the tabs out again only on such a change: a tab hidden while the bar
            # was hidden kept its room (a gap between "Loss" and "Gradient" for a 2-D function)
            self.selector.setTabText(index, self.selector.tabText(index))
        if self.plots[self.selector.currentIndex()] not in available:
            self.selector.setCurrentIndex(self.plots.index(available[0]))
        shown = self.shown_plots()
        for row, plot in enumerate(shown):
            layout.addItem(plot, row=row, col=0)
            axis = plot.getAxis("bottom")  # "step" under the lowest plot only
            if plot is shown[-1]:
                axis.setLabel("step", color="k")
            else:
                axis.showLabel(False)
        self.selector.setVisible(self.compact)
        if getattr(self, "_hidden_behind", False):
            self._on_runs_updated()   # the plots now shown were skipped while hidden

    # ----------------------------------------------------------------- data
    def _losses_loggable(self) -> bool:
        """Whether no recorded loss is negative (some are on a saddle, unbounded below): a
        log axis can show them, a loss of exactly 0 (Newton on a quadratic reaches it) at
        :meth:`_zero_floor`."""
        return not any(np.any(run.loss < 0) for run in self.state.runs.values() if run.loss.size)

    def _zero_floor(self, column) -> float:
        """Where a log axis draws a value of 0 in ``column`` ("loss", "grad_norm"): at half
        the smallest positive one recorded, as the heatmap's log colours do
        (core.experiment.log_floor)."""
        extent = self._positive_range(column)
        return log_floor(extent[0] if extent is not None else None)

    def _log_loss(self) -> bool:
        """Log scale as asked, unless some loss is negative."""
        return self.state.view.curves_log and self._losses_loggable()

    def _on_view_changed(self):
        was = self.log_loss.blockSignals(True)
        self.log_loss.setChecked(self.state.view.curves_log)
        self.log_loss.blockSignals(was)
        self._on_runs_updated()

    def _on_runs_updated(self):
        wanted = {e.id: e for e in self.state.optimizers if e.enabled}
        shown = set(self.shown_plots())
        self._hidden_behind = False
        for entry_id in list(self.curve_ids):
            if entry_id not in wanted:
                self._remove_curves(entry_id)
        positive = self._losses_loggable()
        log = self.state.view.curves_log and positive
        # losses and gradient norms of exactly 0 (Newton at a minimum) on a log axis (at
        # 1e-300 the gradient's axis ran down three hundred decades)
        zero_floor = self._zero_floor("loss") if log else None
        grad_floor = self._zero_floor("grad_norm")
        by_work = self.state.view.curves_x == "gradients"
        label = "gradient evaluations" if by_work else "step"
        if self.gradient_plot.getAxis("bottom").labelText != label:
            for plot in self.plots:
                if plot.getAxis("bottom").labelText:
                    plot.setLabel("bottom", label, color="k")
        if any(run.steps.size for run in self.state.runs.values()):
            for plot, cursor in zip(self.plots, self.cursors):
                for side in ("bottom", "left"):
                    show_axis(plot, side)   # (at every update: 1.6 ms a bottom axis when it was laid out again)
                cursor.setVisible(True)
        self.loss_plot.setLogMode(False, log)
        self.layers["loss"].setLogMode(False, log)   # (its own: PlotItem tells only items added after)
        # Against steps the axis is the race's, 0 .. steps, from the start: the curves grow
        # across it instead of the axis rescaling at every merged update (which re-laid out
        # its ticks and re-stroked every cached curve). Gradient evaluations have no known end.
        # (A change of log mode turns pyqtgraph's autoranging back on: set it again then.)
        steps_range = None if by_work else (0.0, float(max(1, self.state.race.steps)))
        for plot in self.plots:
            if steps_range is None:
                if steps_range != self._x_range:
                    plot.enableAutoRange(x=True)
            elif steps_range != self._x_range or plot.vb.autoRangeEnabled()[0]:
                plot.setXRange(*steps_range, padding=STEPS_PADDING)   # turns x autoranging off
        self._x_range = steps_range
        non_positive = not positive
        self.log_loss.setEnabled(not non_positive)
        was = self.log_loss.blockSignals(True)  # shows what is drawn; the setting itself stays
        self.log_loss.setChecked(self.state.view.curves_log and not non_positive)
        self.log_loss.blockSignals(was)
        self.log_loss.setToolTip("Disabled: some loss is negative (the objective is unbounded below), so the "
                                 "loss is shown on a linear axis" if non_positive
                                 else "Show the loss on a logarithmic axis (a loss of 0 at half the smallest "
                                      "positive one)")
        for entry_id, entry in wanted.items():
            run = self.state.runs.get(entry_id)
            if run is None:
                if entry_id in self.curve_ids:
                    self._remove_curves(entry_id)
                continue   # its curves are made with its run
            if entry_id not in self.curve_ids:
                self.curve_ids.add(entry_id)
                for plot, (layer, name) in zip(self._curve_plots(), self._curves()):
                    data = self._curve_data[entry_id, name] = CurveData(layer, (entry_id, name))
                    plot.addItem(data, ignoreBounds=True)
            for layer, name in self._curves():
                self._curve_data[entry_id, name].opts["name"] = f"{run.label} {CURVE_NAMES[name]}"
                style = QtCore.Qt.PenStyle.DashLine if name == "val" else QtCore.Qt.PenStyle.SolidLine
                layer.set_color((entry_id, name), entry.color, style)   # (restrokes on a change only)
            # only the plots on screen: in the compact arrangement two of the three are hidden,
            # and setting their curves at every merged update cost the GUI thread for nothing
            # (they are set when shown, see _arrange_plots)
            on_screen = {name for name, plot in (("loss", self.loss_plot), ("train", self.accuracy_plot),
                                                 ("val", self.accuracy_plot), ("grad", self.gradient_plot))
                         if plot in shown}
            self._hidden_behind = self._hidden_behind or len(on_screen) < 4
            # a run that has not changed since its curves were set (the others' increments
            # come at every merged update) keeps them
            if not self._drawn.changed(entry_id, (run,), (run.steps.size, run.ended, log, by_work,
                                                          frozenset(on_screen), zero_floor, grad_floor)):
                continue
            # a long run's curves through at most about CURVE_POINTS rows: a plot shows no
            # more than a point or two per pixel
            rows = curve_rows(run.steps.size, run.ended, self.state.race.steps)
            steps = run.gradient_evaluations[rows] if by_work else run.steps[rows]
            # (a diverged run ends in inf/NaN: a gap in its curves)
            loss = np.maximum(run.loss[rows], zero_floor if log else LOSS_CURVE_FLOOR)
            if "loss" in on_screen:
                self.layers["loss"].set_part((entry_id, "loss"), steps, loss)
            if "train" in on_screen:
                self.layers["accuracy"].set_part((entry_id, "train"), steps, run.train_acc[rows])
                self.layers["accuracy"].set_part((entry_id, "val"), steps, run.val_acc[rows])
            if "grad" in on_screen:
                self.layers["grad"].set_part((entry_id, "grad"), steps, np.maximum(run.grad_norm[rows], grad_floor))
            self.layers["loss"].labels[entry_id, "loss"] = run.label + run_ending_note(run)
        clipped = not log and any(np.any(run.loss < LOSS_CURVE_FLOOR) for run in self.state.runs.values())
        objective = self.state.objective
        # a 2-D function has no data (no minibatches): its value and its gradient
        function = objective is not None and not objective.has_data
        value = "f(x, y)" if function else "full-data loss"
        if clipped:
            value += f" (clipped at {LOSS_CURVE_FLOOR:g}: unbounded below)"
        elif log and any(np.any(run.loss == 0) for run in self.state.runs.values()):
            value += f" (0 drawn at {zero_floor:.2g})"
        set_title(self.loss_plot, value)
        set_title(self.gradient_plot, "gradient norm" if function else GRADIENT_TITLE)
        self._set_y_ranges(wanted, shown, log)
        self._set_loss_ticks()   # (for the range just set: which ticks it shows)
        self._on_frame_changed(self.state.frame)

    def _curves(self):
        """(layer, curve name) of every curve a method has."""
        layers = self.layers
        return ((layers["loss"], "loss"), (layers["accuracy"], "train"), (layers["accuracy"], "val"),
                (layers["grad"], "grad"))

    def _curve_plots(self):
        """The plot of each curve of :meth:`_curves`, in its order."""
        return self.loss_plot, self.accuracy_plot, self.accuracy_plot, self.gradient_plot

    def _remove_curves(self, entry_id):
        for plot, (layer, name) in zip(self._curve_plots(), self._curves()):
            data = self._curve_data.pop((entry_id, name), None)
            if data is not None:
                plot.removeItem(data)
            layer.remove((entry_id, name))
            layer.labels.pop((entry_id, name), None)
        self._drawn.forget(entry_id)
        self.curve_ids.discard(entry_id)

    def curve_data(self, entry_id, name):
        """The points (x, y) (arrays (R,), as given: not log-mapped) of one method's curve
        ``name`` ("loss", "train", "val", "grad"); empty before its plot has shown it."""
        x, y = self.layers["accuracy" if name in ("train", "val") else name].part_points((entry_id, name))
        return (x, y) if x is not None else (np.empty(0), np.empty(0))

    def _set_y_ranges(self, wanted, shown, log):
        """Each plot on screen framed by :func:`steady_range` around its curves (see
        Y_GROWTH). A plot the user has zoomed or panned keeps their range, as under
        pyqtgraph's autorange (its "A" button hands it back)."""
        runs = [self.state.runs.get(entry_id) for entry_id in wanted]
        final = all(run is None or run.ended for run in runs)
        curves = ((self.loss_plot, self.layers["loss"], ("loss",), log),
                  (self.accuracy_plot, self.layers["accuracy"], ("train", "val"), False),
                  (self.gradient_plot, self.layers["grad"], ("grad",), True))
        for plot, layer, names, plot_log in curves:
            if plot not in shown:
                continue
            # (the layer keeps each curve's extent as drawn: log10 on a log axis)
            spans = [layer.part_extent((entry_id, name)) for entry_id in wanted for name in names]
            spans = [span for span in spans if span[0] is not None]
            if not spans:
                continue
            low, high = min(span[0] for span in spans), max(span[1] for span in spans)
            # autoranging is on at the start, after a change of log mode and after the "A"
            # button: the panel frames the plot afresh
            fresh = plot.vb.autoRangeEnabled()[1]
            ours = self._y_ranges.get(id(plot))   # (the range set, on a log axis or not)
            if ours is not None and ours[1] != plot_log:
                ours = None
            if not fresh and ours is not None and tuple(plot.vb.viewRange()[1]) != ours[0]:
                continue   # the user's zoom or pan: theirs until the "A" button
            framed = steady_range(None if fresh or ours is None else ours[0], low, high, final, plot_log,
                                  plot.vb.suggestPadding(1))
            if fresh or ours is None or framed != ours[0]:
                plot.setYRange(*framed, padding=0)   # (turns y autoranging off)
                self._y_ranges[id(plot)] = (tuple(plot.vb.viewRange()[1]), plot_log)

    def _positive_range(self, column="loss"):
        """(min, max) of every run's recorded positive finite values of ``column`` ("loss",
        "grad_norm"), or None. Each run's is kept with the number of rows it covers and
        extended by the new rows only: it is asked for at every update and at every move of
        a zoom, and a long race's rows run to hundreds of thousands."""
        kept = {}
        ranges_of_column = self._positive_ranges.setdefault(column, {})
        for entry_id, run in self.state.runs.items():
            values_of_run = getattr(run, column)
            count = values_of_run.size
            previous = ranges_of_column.get(entry_id)
            if previous is not None and previous[0] is run and previous[1] <= count:
                _run, start, low, high = previous
            else:   # a new or restarted run
                start, low, high = 0, np.inf, -np.inf
            new = values_of_run[start:count]
            new = new[np.isfinite(new) & (new > 0)]
            if new.size:
                low, high = min(low, float(new.min())), max(high, float(new.max()))
            kept[entry_id] = (run, count, low, high)
        self._positive_ranges[column] = kept   # (a removed or restarted run's entry goes)
        ranges = [(low, high) for _run, _count, low, high in kept.values() if low <= high]
        return (min(low for low, _ in ranges), max(high for _, high in ranges)) if ranges else None

    def _set_loss_ticks(self):
        axis = self.loss_plot.getAxis("left")
        ticks = None
        extent = self._positive_range("loss") if self._log_loss() else None
        if extent is not None:
            # a label needs about LOG_TICK_PX: a short plot gets decades only
            shown = tuple(10.0 ** np.asarray(self.loss_plot.vb.viewRange()[1]))   # (log mode: log10 units)
            ticks = log_ticks(*extent, max_ticks=max(2, int(self.loss_plot.vb.height() // LOG_TICK_PX)), shown=shown)
        if ticks != self._loss_ticks:   # a new set of ticks re-lays the axis out: only on a change
            self._loss_ticks = ticks
            axis.setTicks(ticks)  # None: pyqtgraph's own ticks (linear scale)

    def _on_log_loss_toggled(self, on):
        self.state.set_view(curves_log=on)

    def _follow_frame(self):
        self._on_frame_changed(self.state.frame)

    def _on_frame_changed(self, frame):
        # the frame is a step: on the axis of gradient evaluations each method is elsewhere
        by_step = self.state.view.curves_x == "step"
        for cursor in self.cursors:
            cursor.setValue(frame)
            cursor.setVisible(by_step and any(run.steps.size for run in self.state.runs.values()))
