"""The Babysitting lab's six plots (core.labs.babysitting.BabysittingReport), one widget for
the lab and for ``hillwalk babysit --out report.png`` alike.

Top row: the probe's three loss curves (log loss; a diverged run named so in the legend,
only its finite rows drawn), the range test (loss against the rate on a log axis, the
suggested range shaded), the minibatch loss per step, raw and smoothed. Bottom row:
training and validation accuracy per epoch with the gap shaded, ``||update|| / ||W||`` per
weight matrix on a log axis with the band 1e-4 .. 1e-2 and the notes' 1e-3, and the
schedule's rate per epoch.
"""
from __future__ import annotations

import functools
import html

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore

from hillwalk.core.io.session import PALETTE

from .figures import LEGEND_GROUND, LOG_TICK_PX, delete_now, log_ticks, name_in_legend, save_widget_png, set_title
from .panels.markers import PixelMarker

PROBE_COLORS = {"small": "#0072B2", "middle": "#009E73", "large": "#D55E00"}
RATIO_BAND = (1e-4, 1e-2)
RATIO_TARGET = 1e-3


def _positive(x, y):
    """The points of (x, y) a log axis can draw: y finite and > 0 (an SVM's loss may reach 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(y) & (y > 0) & np.isfinite(x)
    return x[keep], y[keep]


def positive_extent(plot):
    """(smallest, largest) of the positive finite y values drawn in a log plot's data
    items (as given, not log10), or None."""
    values = [np.asarray(item.yData, dtype=np.float64) for item in plot.listDataItems() if item.yData is not None]
    values = np.concatenate(values) if values else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    return (float(values.min()), float(values.max())) if values.size else None


def set_curve(item, x, y, symbol=None):
    """Give ``item`` (a PlotDataItem) the points (x, y) and ``symbol``, unless it shows
    them already: a report often repeats a plot's data (a new training rate leaves the probe
    and the range test as they were), and an untouched plot is not painted again."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    shown_x, shown_y = item.getOriginalDataset()
    if (shown_x is not None and item.opts["symbol"] == symbol and np.array_equal(shown_x, x)
            and np.array_equal(shown_y, y, equal_nan=True)):
        return
    item.setData(x, y, symbol=symbol)


def narrow_title(label):
    """Let a plot's title label (a LabelItem) set its row's height but never its column's
    width: its columns have fixed widths (see BabysitFigure._share_columns), and pyqtgraph
    gives a label its text's width as minimum at every new text and every resize, which
    widened a column past the figure's edge after a resize (a network's diverged-run
    title, 314 px in a 274 px column). A title wider than its column overflows its edges."""
    update_min = label.updateMin

    def height_only():
        update_min()
        label.setMinimumWidth(0)

    label.updateMin = height_only   # (LabelItem calls self.updateMin from setText and resizeEvent)
    height_only()


def thin_out(item):
    """Let a curve of a value per update (23000 points at 1000 epochs, 60-65 ms a paint)
    be drawn as the range of its values within each pixel column: it looks the same. Call
    it after the item is in its plot (PlotItem.addItem sets the plot's own choice)."""
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)


class BabysitFigure(pg.GraphicsLayoutWidget):
    """Six plots; :meth:`show_report` draws a report, :meth:`report_stages` draws it a plot
    at a time.

    The plots' curves are made once and given each report's data: made anew for each report
    (about 20 items) they held the GUI thread about 30 ms, and every plot's axes, legends
    and layout were built again with them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setSpacing(4)

        def plot(row, col, title, bottom, left, log_x=False, log_y=False):
            item = self.addPlot(row=row, col=col)
            item.setTitle(title, color="k", size="9pt")
            item.setLabel("bottom", bottom, color="k")
            item.setLabel("left", left, color="k")
            item.setLogMode(log_x, log_y)
            item.showGrid(x=True, y=True, alpha=0.15)
            for axis in ("bottom", "left"):   # rates and fractions as they are, not "(x0.001)"
                item.getAxis(axis).enableAutoSIPrefix(False)
            narrow_title(item.titleLabel)
            # the tick labels' space grows to the widest seen and does not shrink back: a
            # narrower label after a report lays every plot out again, and the figure's
            # whole paint (50-70 ms) came with it, instead of the changed plot's (5-10 ms)
            item.getAxis("left").setStyle(autoReduceTextSpace=False)
            return item

        def curve(plot, color, width, **options):
            # (symbol given: with a symbol's brush and none, pyqtgraph would mark every point)
            item = pg.PlotDataItem(pen=pg.mkPen(color, width=width), symbol=None, **options)
            plot.addItem(item)
            return item

        def long_curve(plot, color, width):
            item = curve(plot, color, width)
            thin_out(item)
            return item

        self.probe_plot = plot(0, 0, "3. probe: loss at 3 rates", "step", "loss", log_y=True)
        # bottom left: the curves start high on the left and fall to the right; a white
        # ground keeps its names legible where a curve passes under it
        self.probe_legend = self.probe_plot.addLegend(offset=(5, -5), labelTextColor="k", labelTextSize="8pt",
                                                      brush=LEGEND_GROUND)
        self.probe_curves = {role: curve(self.probe_plot, color, 2) for role, color in PROBE_COLORS.items()}
        # a diverged run's last finite point is marked "x" by an item of its own: as the
        # curve's symbol (a scatter of one point) every new position repainted the whole
        # figure (pyqtgraph reports a scatter's change over the whole scene: 55-65 ms)
        self.probe_markers = {}
        for role, color in PROBE_COLORS.items():
            marker = PixelMarker("x", 10, pen=pg.mkPen(color, width=1.5), brush=color)
            self.probe_plot.addItem(marker, ignoreBounds=True)   # (its curve's point is in the bounds)
            self.probe_markers[role] = marker
        self.range_plot = plot(0, 1, "4. range test", "learning rate", "minibatch loss", log_x=True)
        self.range_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(0, 158, 115, 50),
                                                pen=pg.mkPen("#009E73"))
        self.range_region.setZValue(-10)
        self.range_plot.addItem(self.range_region)
        self.range_raw = curve(self.range_plot, "#bbbbbb", 1)
        self.range_smoothed = curve(self.range_plot, "#0072B2", 2)
        self.step_plot = plot(0, 2, "loss per step", "step", "minibatch loss")
        self.step_legend = self.step_plot.addLegend(offset=(-5, 5), labelTextColor="k", labelTextSize="8pt")
        self.step_raw = long_curve(self.step_plot, "#bbbbbb", 1)
        self.step_smoothed = long_curve(self.step_plot, "#D55E00", 2)
        self.accuracy_plot = plot(1, 0, "accuracy per epoch", "epoch", "accuracy")
        self.accuracy_legend = self.accuracy_plot.addLegend(offset=(-5, -5), labelTextColor="k",
                                                            labelTextSize="8pt")
        self.train_curve = curve(self.accuracy_plot, "#0072B2", 2, symbolSize=5, symbolBrush="#0072B2")
        # (the validation curve and the gap's fill are in the plot only with validation data)
        self.val_curve = pg.PlotDataItem(pen=pg.mkPen("#D55E00", width=2), symbol=None, symbolSize=5,
                                         symbolBrush="#D55E00")
        self.gap_fill = pg.FillBetweenItem(self.train_curve, self.val_curve, brush=pg.mkBrush(204, 121, 167, 80))
        self.gap_fill.setZValue(-5)
        self.ratio_plot = plot(1, 1, "||update|| / ||W||", "step", "ratio", log_y=True)
        self.ratio_band = pg.LinearRegionItem(values=np.log10(RATIO_BAND), orientation="horizontal", movable=False,
                                              brush=pg.mkBrush(0, 114, 178, 30), pen=pg.mkPen(None))
        self.ratio_band.setZValue(-10)
        self.ratio_plot.addItem(self.ratio_band)
        self.ratio_line = pg.InfiniteLine(np.log10(RATIO_TARGET), angle=0,
                                          pen=pg.mkPen("#555", style=QtCore.Qt.PenStyle.DashLine),
                                          label="1e-3", labelOpts={"position": 0.7, "color": "#555"})
        self.ratio_plot.addItem(self.ratio_line)
        self.ratio_curves = []   # one a weight matrix (named in the title), made as needed
        self.schedule_plot = plot(1, 2, "lr per epoch", "epoch", "learning rate")
        self.schedule_curve = curve(self.schedule_plot, "#009E73", 2, symbolSize=5, symbolBrush="#009E73")
        self._columns = 3
        # the log axes' ticks, as many as their height holds (pyqtgraph labels every minor
        # tick of a short range: "0.4 ... 0.9" piled up on a 120 px plot at 1280 x 720)
        self._log_extents = {}   # plot -> (smallest, largest) positive value drawn
        for log_plot in (self.probe_plot, self.ratio_plot):
            log_plot.vb.sigResized.connect(self._fit_log_ticks)

    # the plots in reading order; three columns where the widget is wide enough, else two
    # (a plot narrower than its axes and title is clipped, not shrunk)
    COLUMN_WIDTH = 250
    # the accuracy's and the rate's points are marked up to this many epochs (more merge
    # into a thick line, and cost a symbol each to paint)
    MARKED_EPOCHS = 60

    def _plots(self):
        return (self.probe_plot, self.range_plot, self.step_plot, self.accuracy_plot, self.ratio_plot,
                self.schedule_plot)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if not hasattr(self, "schedule_plot"):   # pyqtgraph resizes while it builds the view
            return
        columns = 3 if self.width() >= 3 * self.COLUMN_WIDTH else 2
        if columns != self._columns:
            self._columns = columns
            for item in self._plots():
                self.ci.removeItem(item)
            for index, item in enumerate(self._plots()):
                self.ci.addItem(item, row=index // columns, col=index % columns)
        self._share_columns()

    def _share_columns(self):
        """Every column the same fixed width, set again at each resize: left to the layout,
        the columns' widths followed the plots' titles, and a new title (a new range, a new
        gap) laid every plot out again and repainted the whole figure."""
        layout = self.ci.layout
        left, _top, right, _bottom = layout.getContentsMargins()
        spacing = layout.horizontalSpacing()
        inner = self.viewport().width() - left - right - spacing * (self._columns - 1)
        width = max(1.0, inner / self._columns)
        for column in range(3):
            if column < self._columns:
                layout.setColumnFixedWidth(column, width)
            else:   # (a column no plot uses any more)
                layout.setColumnMinimumWidth(column, 0)
                layout.setColumnMaximumWidth(column, 0)

    def _fit_log_ticks(self, *_arguments, plots=None):
        for log_plot in plots or (self.probe_plot, self.ratio_plot):
            extent, height = self._log_extents.get(log_plot), log_plot.vb.height()
            log_plot.getAxis("left").setTicks(log_ticks(*extent, max_ticks=max(2, int(height // LOG_TICK_PX)))
                                              if extent is not None and height > 0 else None)

    @staticmethod
    def _set_title(plot, text, color="k"):
        set_title(plot, text, color=color, size="9pt")   # (only when it changes)

    @staticmethod
    def _include(plot, item, shown):
        """``item`` in ``plot`` or not."""
        if shown and item.scene() is None:
            plot.addItem(item)
        elif not shown and item.scene() is not None:
            plot.removeItem(item)

    def show_report(self, report):
        """Draw ``report`` (all six plots now)."""
        for stage in self.report_stages(report):
            stage()

    def report_stages(self, report):
        """The drawing of ``report``, a plot a stage: six callables to call in order, each
        in a turn of the event loop of its own if the caller likes (the lab does: see
        :class:`~hillwalk.gui.pacing.StagedDrawing`). A stage changes its plot only, so the
        window's paint after it is that plot's."""
        stages = (self._draw_probe, self._draw_range_test, self._draw_step_loss, self._draw_accuracy,
                  self._draw_ratios, self._draw_schedule)
        return [functools.partial(stage, report) for stage in stages]

    def _diverged(self, curves):
        # a run that diverged says so where its curves stop (at lr 1e6 they stop at once, and
        # the empty plots' axes ran -100 .. 100 with nothing to say why)
        return "" if curves.diverged_at is None else f": diverged at update {curves.diverged_at}"

    @staticmethod
    def _span_planned(plot, values, end):
        """Where a diverged run left (next to) nothing to draw, the plot's x axis spans the
        planned updates or epochs ``end``."""
        if np.count_nonzero(np.isfinite(values)) < 2:
            plot.setXRange(0, max(1, end), padding=0.02)

    def _draw_probe(self, report):
        roles = {run.role: run for run in report.probe}
        for role, item in self.probe_curves.items():
            run = roles.get(role)
            self._include(self.probe_plot, item, run is not None)
            if run is None:
                if self.probe_legend.getLabel(item) is not None:
                    self.probe_legend.removeItem(item)
                self.probe_markers[role].setVisible(False)
                continue
            x, y = _positive(run.steps, run.loss)
            set_curve(item, x, y)
            marker = self.probe_markers[role]
            if run.diverged and x.size:   # (placed in the log axis's units: log10 of the loss)
                if not marker.isVisible() or (marker.x(), marker.y()) != (x[-1], np.log10(y[-1])):
                    marker.place(x[-1], np.log10(y[-1]))
            else:
                marker.setVisible(False)
            style = QtCore.Qt.PenStyle.DashLine if run.diverged else QtCore.Qt.PenStyle.SolidLine
            if item.opts["pen"].style() != style:
                item.setPen(pg.mkPen(PROBE_COLORS[role], width=2, style=style))
            name_in_legend(self.probe_legend, item, f"{run.lr:.3g}" + (" (diverged)" if run.diverged else ""))
        self.probe_plot.enableAutoRange()
        self._log_extents[self.probe_plot] = positive_extent(self.probe_plot)
        self._fit_log_ticks(plots=(self.probe_plot,))

    def _draw_range_test(self, report):
        test = report.range_test
        set_curve(self.range_raw, test.lrs, test.loss)
        set_curve(self.range_smoothed, test.lrs, test.smoothed)
        self.range_region.setVisible(test.found)
        if test.found:
            self.range_region.setRegion((np.log10(test.low), np.log10(max(test.high, test.low * 1.0001))))
        self._set_title(self.range_plot, f"4. range test: {test.low:.2g} .. {test.high:.2g}" if test.found
                        else "4. range test: no fall")
        self.range_plot.enableAutoRange()

    def _draw_step_loss(self, report):
        curves = report.curves
        diverged = self._diverged(curves)
        self._set_title(self.step_plot, f"loss per step{diverged}", "#b00" if diverged else "k")
        steps = np.arange(curves.step_loss.size)
        set_curve(self.step_raw, steps, curves.step_loss)
        set_curve(self.step_smoothed, steps, curves.step_smoothed)
        name_in_legend(self.step_legend, self.step_raw, "raw")
        name_in_legend(self.step_legend, self.step_smoothed, "smoothed (EMA 0.9)")
        self.step_plot.enableAutoRange()
        self._span_planned(self.step_plot, curves.step_loss, curves.epochs * curves.steps_per_epoch)

    def _draw_accuracy(self, report):
        curves = report.curves
        epochs = curves.epoch_index.astype(np.float64)
        symbols = epochs.size <= self.MARKED_EPOCHS + 1
        set_curve(self.train_curve, epochs, curves.train_acc, "o" if symbols else None)
        name_in_legend(self.accuracy_legend, self.train_curve, "training")
        validation = bool(np.all(np.isfinite(curves.val_acc)))
        self._include(self.accuracy_plot, self.gap_fill, validation)
        self._include(self.accuracy_plot, self.val_curve, validation)
        if validation:
            set_curve(self.val_curve, epochs, curves.val_acc, "s" if symbols else None)
            name_in_legend(self.accuracy_legend, self.val_curve, "validation")
        elif self.accuracy_legend.getLabel(self.val_curve) is not None:
            self.accuracy_legend.removeItem(self.val_curve)
        # (a diverged run's last gap is that of an epoch before the blow-up: no verdict)
        diverged = self._diverged(curves)
        if diverged:
            self._set_title(self.accuracy_plot, f"accuracy{diverged}", "#b00")
        else:
            self._set_title(self.accuracy_plot, f"accuracy: gap {curves.gap[-1]:+.3f}" if np.isfinite(curves.gap[-1])
                            else "accuracy (no validation)")
        self.accuracy_plot.enableAutoRange()
        self._span_planned(self.accuracy_plot, curves.train_acc, curves.epochs)

    def _draw_ratios(self, report):
        curves = report.curves
        diverged = self._diverged(curves)
        # a network's weight matrices are named in the title, each in its curve's colour: a
        # legend inside the plot covered the curves (three of them, at 1280 x 720)
        names = "" if len(curves.layer_names) < 2 else ": " + " ".join(
            f"<span style='color:{PALETTE[k % len(PALETTE)]}'>{html.escape(name)}</span>"
            for k, name in enumerate(curves.layer_names))
        self._set_title(self.ratio_plot, f"||update|| / ||W||{names}{diverged}", "#b00" if diverged else "k")
        while len(self.ratio_curves) < len(curves.layer_names):
            color = PALETTE[len(self.ratio_curves) % len(PALETTE)]
            item = pg.PlotDataItem(pen=pg.mkPen(color, width=1.5))
            self.ratio_plot.addItem(item)
            thin_out(item)   # (after addItem, which gives the item the plot's own setting)
            self.ratio_curves.append(item)
        while len(self.ratio_curves) > len(curves.layer_names):
            self.ratio_plot.removeItem(self.ratio_curves.pop())
        for item, ratios in zip(self.ratio_curves, curves.ratios):
            set_curve(item, *_positive(np.arange(1, ratios.size + 1), ratios))
        self.ratio_plot.enableAutoRange()
        # (an update counts if any matrix's ratio is finite there)
        self._span_planned(self.ratio_plot, np.where(np.isfinite(curves.ratios).any(axis=0), 0.0, np.nan),
                           curves.epochs * curves.steps_per_epoch)
        ratios = positive_extent(self.ratio_plot)   # (the band 1e-4 .. 1e-2 is in view too)
        self._log_extents[self.ratio_plot] = (min(RATIO_BAND[0], ratios[0]), max(RATIO_BAND[1], ratios[1])) \
            if ratios is not None else RATIO_BAND
        self._fit_log_ticks(plots=(self.ratio_plot,))

    def _draw_schedule(self, report):
        curves = report.curves
        set_curve(self.schedule_curve, np.arange(curves.epoch_lr.size), curves.epoch_lr,
                  "o" if curves.epoch_lr.size <= self.MARKED_EPOCHS else None)
        self._set_title(self.schedule_plot, f"lr per epoch ({curves.schedule.kind})")
        # from 0: a constant rate is a flat line, not one magnified to fill the axis
        self.schedule_plot.enableAutoRange(x=True)
        self.schedule_plot.setYRange(0.0, 1.1 * float(curves.epoch_lr.max()), padding=0)


def render_babysit_png(report, path, size=(1500, 900), title=None):
    """A PNG of the six plots of ``report``, with ``title`` above them."""
    figure = BabysitFigure()
    try:
        figure.show_report(report)
        if title:
            figure.ci.addLabel(title, row=2, col=0, colspan=3, color="k", size="10pt")
        return save_widget_png(figure, path, size)
    finally:
        delete_now(figure)
