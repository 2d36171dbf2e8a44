"""Gradient-check lab: analytic against numerical gradients at the current W."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from ..lab_state import ERROR_BANDS
from .lab_base import LabPanel
from .widgets import ScientificSpinBox, combo

# the histogram's log10 relative errors: from the floor of float64 (1e-16) to past 1e-2,
# with room right of it for the "wrong" band's label
HISTOGRAM_LOW, HISTOGRAM_HIGH = -16.0, 2.5
HISTOGRAM_HEADROOM = 1.65   # the plot's height over the tallest bar
# (short: a long title widened its column until the h sweep beside it was cut off)
IMAGE_TITLE = "log10 relative error of each parameter"
# a network's raster names its blocks in its axis label up to this many (a deep one: first ... last)
RASTER_NAMES_SHOWN = 8


class GradientCheckLab(LabPanel):
    """Relative error of every checked parameter as an image (C x (D+1)) and a histogram
    on a log axis with the rule-of-thumb bands, an h-sweep, kink flags, and a toggle that
    breaks the gradient on purpose."""

    lab = "gradcheck"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        controls = QtWidgets.QHBoxLayout()
        self.method = combo([("centered difference", "centered"), ("forward difference", "forward")],
                            tooltip="Centered: error O(h^2); forward: O(h)")
        self.h = ScientificSpinBox(1e-12, 1e-1, 1e-5)
        self.h.setToolTip("Difference step h")
        self.samples = QtWidgets.QSpinBox()
        self.samples.setKeyboardTracking(False)   # (computed when typing ends: not for each digit on the way)
        self.samples.setRange(0, 100000)
        self.samples.setValue(0)
        self.samples.setSpecialValueText("all")
        self.samples.setToolTip("How many randomly chosen parameters to check (all: every one)")
        self.broken = QtWidgets.QCheckBox("break the gradient")
        self.broken.setObjectName("breakGradient")
        self.broken.setToolTip("Check a deliberately wrong gradient (the regularization term dropped), to see what "
                               "failing looks like")
        self.check_button = QtWidgets.QPushButton("Check again")
        for widget in (QtWidgets.QLabel("At:"), self.make_point_choice(), QtWidgets.QLabel("Difference:"), self.method,
                       QtWidgets.QLabel("h"), self.h):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout.addLayout(controls)
        second_row = QtWidgets.QHBoxLayout()  # two rows keep the window narrow enough for small screens
        for widget in (QtWidgets.QLabel("parameters"), self.samples, self.broken, self.check_button):
            second_row.addWidget(widget)
        second_row.addStretch(1)
        layout.addLayout(second_row)
        layout.addWidget(self.status)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout.addWidget(self.graphics, 1)
        self.image_plot = self.graphics.addPlot(row=0, col=0, title=IMAGE_TITLE)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image_plot.addItem(self.image)
        self.image_bar = pg.ColorBarItem(values=(-16, 0), colorMap=pg.colormap.get("CET-R4"), interactive=False)
        self.image_bar.setImageItem(self.image, insert_in=self.image_plot)
        self.histogram_plot = self.graphics.addPlot(row=1, col=0, title="relative errors (log axis) and the "
                                                                        "rule-of-thumb bands")
        self.histogram_plot.setLabel("bottom", "log10 relative error", color="k")
        self.histogram_plot.setLabel("left", "parameters", color="k")
        # compared parameters (the verdict's), those straddling a kink, and those whose
        # derivative the difference cannot resolve (both derivatives are noise there): the
        # last two are left out of the verdict, so they are drawn apart
        self.histogram = pg.PlotDataItem([], [], stepMode="center", fillLevel=0, brush=(0, 114, 178, 150))
        self.kink_histogram = pg.PlotDataItem([], [], stepMode="center", fillLevel=0, brush=(213, 94, 0, 150))
        self.unresolved_histogram = pg.PlotDataItem([], [], stepMode="center", fillLevel=0, brush=(140, 140, 140, 150))
        for item in (self.histogram, self.kink_histogram, self.unresolved_histogram):
            self.histogram_plot.addItem(item)
        # each label inside the band it names: "< 1e-7" left of its line, "> 1e-2" right of it
        # each label's bottom at its height, above the bars (see HISTOGRAM_HEADROOM); the
        # first two overlap in x, so they stand one above the other
        for level, text, height, anchor in zip(ERROR_BANDS,
                                               ("< 1e-7 excellent", "< 1e-4 fine with kinks", "> 1e-2 wrong"),
                                               (0.80, 0.64, 0.64), ((1, 1), (1, 1), (0, 1))):
            line = pg.InfiniteLine(np.log10(level), angle=90, pen=pg.mkPen("#555", style=QtCore.Qt.PenStyle.DashLine),
                                   label=text, labelOpts={"position": height, "color": "k", "anchors": [anchor, anchor]})
            self.histogram_plot.addItem(line)
        # the errors' range, and room right of 1e-2 for the "wrong" band's label (it was cut
        # off at the plot's edge)
        self.histogram_plot.setXRange(HISTOGRAM_LOW, HISTOGRAM_HIGH, padding=0.02)
        self.sweep_plot = self.graphics.addPlot(row=0, col=1, rowspan=2, title="error against h (log-log)")
        self.sweep_plot.setLogMode(True, True)
        for plot in (self.sweep_plot, self.histogram_plot, self.image_plot):
            for side in ("bottom", "left"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.sweep_plot.setLabel("bottom", "h", color="k")
        self.sweep_plot.setLabel("left", "relative error", color="k")
        self.sweep_plot.addLegend(labelTextColor="k")
        self.sweep_max = self.sweep_plot.plot([], [], pen=pg.mkPen("#D55E00", width=2), symbol="o", symbolSize=5,
                                              name="largest")
        self.sweep_median = self.sweep_plot.plot([], [], pen=pg.mkPen("#0072B2", width=2), symbol="o",
                                                 symbolSize=5, name="median")
        self.check_button.clicked.connect(self.refresh)
        self.broken.toggled.connect(self.refresh)
        self.method.currentIndexChanged.connect(self.refresh)
        self.h.valueChanged.connect(self.refresh)
        self.samples.valueChanged.connect(self.refresh)

    def settings(self):
        return {"point": self.point.currentData(), "method": self.method.currentData(), "h": self.h.value(),
                "samples": self.samples.value() or None, "broken": self.broken.isChecked()}

    def show_result(self, outcome):
        result, hs, shape = outcome.check, outcome.hs, outcome.param_shape
        grid = np.full(int(np.prod(shape)), np.nan)
        grid[result.indices] = np.log10(np.maximum(result.rel_error, 1e-16))
        if len(shape) == 1:  # a flat vector (a network's): rows of a near-square raster, the blocks in order
            width = int(np.ceil(np.sqrt(grid.size)))
            grid = np.concatenate([grid, np.full(width * width - grid.size, np.nan)])
            shape = (width, width)
            names = [name for name, _, _ in outcome.blocks]
            if len(names) < 2:   # (a 2-D function's x and y)
                label = f"parameters {names[0] if names else ''} row by row"
            elif len(names) <= RASTER_NAMES_SHOWN:
                label = "parameters row by row, in layer order: " + ", ".join(names)
            else:
                label = f"parameters row by row, in layer order: {names[0]} ... {names[-1]}"
            self.image_plot.setLabel("bottom", label, color="k")
            self.image_plot.setLabel("left", "row", color="k")
        else:
            self.image_plot.setLabel("bottom", "feature (last column: bias)", color="k")
            self.image_plot.setLabel("left", "class", color="k")
        self.image.setImage(grid.reshape(shape), autoLevels=False)
        self.image_bar.setLevels((-16, 0))
        logs = np.log10(np.maximum(result.rel_error, 1e-16))
        edges = np.linspace(HISTOGRAM_LOW, 0.5, 50)
        tallest = 0
        unresolved = result.unresolved & ~result.near_kink
        for item, chosen in ((self.histogram, ~result.near_kink & ~result.unresolved),
                             (self.kink_histogram, result.near_kink), (self.unresolved_histogram, unresolved)):
            counts, _ = np.histogram(logs[chosen], bins=edges)
            item.setData(edges, counts)
            tallest = max(tallest, int(counts.max(initial=0)))
        # the bars in the lower 60% of the plot: the bands' labels (from 64% of its height
        # up) stay clear of them
        self.histogram_plot.setYRange(0, max(tallest, 1) * HISTOGRAM_HEADROOM, padding=0)
        # a log axis cannot show an error of exactly 0: floor it at 1e-17, below any float64
        # error; an h whose difference overflowed (NaN error) has no point to draw
        for curve, errors in ((self.sweep_max, outcome.max_errors), (self.sweep_median, outcome.median_errors)):
            drawable = np.isfinite(errors)
            curve.setData(hs[drawable], np.maximum(errors[drawable], 1e-17))
        kinks = int(result.near_kink.sum())
        bands = html.escape(", ".join(f"{k}: {v}" for k, v in result.band_counts().items()))  # '<' is markup
        verdict = result.verdict()
        if verdict.passed:
            said = f"<b style='color:#090'>PASS</b>: every relative error away from kinks is below {verdict.threshold:g}"
        else:
            said = f"<b style='color:#b00'>FAIL</b>: {html.escape(verdict.reason)}"
        undrawn = int(np.sum(~np.isfinite(outcome.max_errors)))
        left_out = int(unresolved.sum())
        by_block = result.worst_by_block(outcome.blocks)
        self.status.setText(
            f"{said}{' (the gradient is broken on purpose)' if outcome.broken else ''}.<br>"
            f"{result.indices.size} parameters checked at {self.point_text()}, {result.method} differences, "
            f"h = {result.h:g}. Largest relative error away from kinks: <b>{verdict.worst:.2e}</b>"
            + (" (" + ", ".join(f"{html.escape(name)} {worst:.1e}" for name, _, worst in by_block) + ")"
               if len(by_block) > 1 else "")
            + f". Bands: {bands}. "
            f"{kinks} parameter(s) straddle a kink (orange in the histogram; a legitimate disagreement). "
            + (f"{html.escape(result.unresolved_text())} (grey in the histogram). " if left_out else "")
            + "The h sweep: truncation error grows to the right, round-off to the left"
            + (f"; {undrawn} h value(s) gave a NaN or infinite derivative and are not drawn." if undrawn else "."))
