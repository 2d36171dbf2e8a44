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

import html

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore

from hillwalk.core.io.session import PALETTE

from .figures import LEGEND_GROUND, LOG_TICK_PX, delete_now, log_ticks, save_widget_png

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


class BabysitFigure(pg.GraphicsLayoutWidget):
    """Six plots; :meth:`show_report` draws a report, :meth:`clear_plots` empties them."""

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
            return item

        self.probe_plot = plot(0, 0, "3. probe: loss at 3 rates", "step", "loss", log_y=True)
        # bottom left: the curves start high on the left and fall to the right; a white
        # ground keeps its names legible where a curve passes under it
        self.probe_legend = self.probe_plot.addLegend(offset=(5, -5), labelTextColor="k", labelTextSize="8pt",
                                                      brush=LEGEND_GROUND)
        self.range_plot = plot(0, 1, "4. range test", "learning rate", "minibatch loss", log_x=True)
        self.range_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(0, 158, 115, 50),
                                                pen=pg.mkPen("#009E73"))
        self.range_region.setZValue(-10)
        self.range_plot.addItem(self.range_region)
        self.step_plot = plot(0, 2, "loss per step", "step", "minibatch loss")
        self.step_legend = self.step_plot.addLegend(offset=(-5, 5), labelTextColor="k", labelTextSize="8pt")
        self.accuracy_plot = plot(1, 0, "accuracy per epoch", "epoch", "accuracy")
        self.accuracy_legend = self.accuracy_plot.addLegend(offset=(-5, -5), labelTextColor="k",
                                                            labelTextSize="8pt")
        self.ratio_plot = plot(1, 1, "||update|| / ||W||", "step", "ratio", log_y=True)
        self.ratio_band = pg.LinearRegionItem(values=np.log10(RATIO_BAND), orientation="horizontal", movable=False,
                                              brush=pg.mkBrush(0, 114, 178, 30), pen=pg.mkPen(None))
        self.ratio_band.setZValue(-10)
        self.ratio_plot.addItem(self.ratio_band)
        self.ratio_line = pg.InfiniteLine(np.log10(RATIO_TARGET), angle=0,
                                          pen=pg.mkPen("#555", style=QtCore.Qt.PenStyle.DashLine),
                                          label="1e-3", labelOpts={"position": 0.7, "color": "#555"})
        self.ratio_plot.addItem(self.ratio_line)
        self.schedule_plot = plot(1, 2, "lr per epoch", "epoch", "learning rate")
        self._items = []   # what show_report added (removed by clear_plots)
        self._columns = 3
        # the log axes' ticks, as many as their height holds (pyqtgraph labels every minor
        # tick of a short range: "0.4 ... 0.9" piled up on a 120 px plot at 1280 x 720)
        self._log_extents = {}   # plot -> (smallest, largest) positive value drawn
        for log_plot in (self.probe_plot, self.ratio_plot):
            log_plot.vb.sigResized.connect(self._fit_log_ticks)

    # the plots in reading order; three columns where the widget is wide enough, else two
    # (a plot narrower than its axes and title is clipped, not shrunk)
    COLUMN_WIDTH = 250

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

    def _fit_log_ticks(self, *_arguments):
        for log_plot, extent in self._log_extents.items():
            height = log_plot.vb.height()
            log_plot.getAxis("left").setTicks(log_ticks(*extent, max_ticks=max(2, int(height // LOG_TICK_PX)))
                                              if extent is not None and height > 0 else None)

    def _add(self, plot, item):
        plot.addItem(item)
        self._items.append((plot, item))
        return item

    def clear_plots(self):
        for plot, item in self._items:
            plot.removeItem(item)
        self._items = []
        self._log_extents = {}   # (a resize would otherwise put the last report's ticks back)
        for log_plot in (self.probe_plot, self.ratio_plot):
            log_plot.getAxis("left").setTicks(None)
        for legend in (self.probe_legend, self.step_legend, self.accuracy_legend):
            legend.clear()

    def show_report(self, report):
        self.clear_plots()
        if report is None:
            return
        for run in report.probe:
            name = f"{run.lr:.3g}" + (" (diverged)" if run.diverged else "")
            x, y = _positive(run.steps, run.loss)
            color = PROBE_COLORS[run.role]
            item = pg.PlotDataItem(x, y, pen=pg.mkPen(color, width=2, style=QtCore.Qt.PenStyle.DashLine
                                                      if run.diverged else QtCore.Qt.PenStyle.SolidLine),
                                   symbol="x" if run.diverged else None, symbolBrush=color, symbolPen=color,
                                   symbolSize=10, name=name)
            self._add(self.probe_plot, item)
        test = report.range_test
        self._add(self.range_plot, pg.PlotDataItem(test.lrs, test.loss, pen=pg.mkPen("#bbbbbb", width=1)))
        self._add(self.range_plot, pg.PlotDataItem(test.lrs, test.smoothed, pen=pg.mkPen("#0072B2", width=2)))
        self.range_region.setVisible(test.found)
        if test.found:
            self.range_region.setRegion((np.log10(test.low), np.log10(max(test.high, test.low * 1.0001))))
        title = f"4. range test: {test.low:.2g} .. {test.high:.2g}" if test.found else "4. range test: no fall"
        self.range_plot.setTitle(title, color="k", size="9pt")
        curves = report.curves
        steps = np.arange(curves.step_loss.size)
        # a run that diverged says so where its curves stop (at lr 1e6 they stop at once, and
        # the empty plots' axes ran -100 .. 100 with nothing to say why)
        diverged = "" if curves.diverged_at is None else f": diverged at update {curves.diverged_at}"
        self.step_plot.setTitle(f"loss per step{diverged}", color="#b00" if diverged else "k", size="9pt")
        # a network's weight matrices are named in the title, each in its curve's colour: a
        # legend inside the plot covered the curves (three of them, at 1280 x 720)
        names = "" if len(curves.layer_names) < 2 else ": " + " ".join(
            f"<span style='color:{PALETTE[k % len(PALETTE)]}'>{html.escape(name)}</span>"
            for k, name in enumerate(curves.layer_names))
        self.ratio_plot.setTitle(f"||update|| / ||W||{names}{diverged}", color="#b00" if diverged else "k",
                                 size="9pt")
        self._add(self.step_plot, pg.PlotDataItem(steps, curves.step_loss, pen=pg.mkPen("#bbbbbb", width=1),
                                                  name="raw"))
        self._add(self.step_plot, pg.PlotDataItem(steps, curves.step_smoothed, pen=pg.mkPen("#D55E00", width=2),
                                                  name="smoothed (EMA 0.9)"))
        epochs = curves.epoch_index.astype(np.float64)
        train = pg.PlotDataItem(epochs, curves.train_acc, pen=pg.mkPen("#0072B2", width=2), symbol="o",
                                symbolSize=5, symbolBrush="#0072B2", name="training")
        self._add(self.accuracy_plot, train)
        if np.all(np.isfinite(curves.val_acc)):
            val = pg.PlotDataItem(epochs, curves.val_acc, pen=pg.mkPen("#D55E00", width=2), symbol="s",
                                  symbolSize=5, symbolBrush="#D55E00", name="validation")
            self._add(self.accuracy_plot, val)
            gap = pg.FillBetweenItem(train, val, brush=pg.mkBrush(204, 121, 167, 80))
            gap.setZValue(-5)
            self._add(self.accuracy_plot, gap)
        # (a diverged run's last gap is that of an epoch before the blow-up: no verdict)
        if diverged:
            self.accuracy_plot.setTitle(f"accuracy{diverged}", color="#b00", size="9pt")
        else:
            self.accuracy_plot.setTitle(f"accuracy: gap {curves.gap[-1]:+.3f}" if np.isfinite(curves.gap[-1])
                                        else "accuracy (no validation)", color="k", size="9pt")
        for k in range(len(curves.layer_names)):
            x, y = _positive(np.arange(1, curves.ratios.shape[1] + 1), curves.ratios[k])
            color = PALETTE[k % len(PALETTE)]
            self._add(self.ratio_plot, pg.PlotDataItem(x, y, pen=pg.mkPen(color, width=1.5)))   # (named in the title)
        self._add(self.schedule_plot, pg.PlotDataItem(np.arange(curves.epoch_lr.size), curves.epoch_lr,
                                                      pen=pg.mkPen("#009E73", width=2), symbol="o", symbolSize=5,
                                                      symbolBrush="#009E73"))
        self.schedule_plot.setTitle(f"lr per epoch ({curves.schedule.kind})", color="k", size="9pt")
        for plot in (self.probe_plot, self.range_plot, self.step_plot, self.accuracy_plot, self.ratio_plot):
            plot.enableAutoRange()
        # the planned updates and epochs where a diverged run left (next to) nothing to draw
        planned = curves.epochs * curves.steps_per_epoch
        for plot, values, end in ((self.step_plot, curves.step_loss, planned), (self.ratio_plot, curves.ratios, planned),
                                  (self.accuracy_plot, curves.train_acc, curves.epochs)):
            if np.count_nonzero(np.isfinite(values)) < 2:
                plot.setXRange(0, max(1, end), padding=0.02)
        self._log_extents = {log_plot: positive_extent(log_plot) for log_plot in (self.probe_plot, self.ratio_plot)}
        ratios = self._log_extents[self.ratio_plot]   # (the band 1e-4 .. 1e-2 is in view too)
        self._log_extents[self.ratio_plot] = (min(RATIO_BAND[0], ratios[0]), max(RATIO_BAND[1], ratios[1])) \
            if ratios is not None else RATIO_BAND
        self._fit_log_ticks()
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
