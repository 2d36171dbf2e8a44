"""Weight-initialization lab: each hidden layer's activations and each weight matrix's
gradient at initialization, for the five schemes side by side (the notes' experiment:
by default 10 layers of 500 tanh units on unit-Gaussian input), with or without batch
norm before each activation, and zero init's symmetry measured after a few steps."""
from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from ..lab_state import DEFAULT_SETTINGS, INIT_LAB_LABELS, INIT_LAB_SCHEMES, SATURATION_LEVEL
from ..pacing import STAGE_DELAY_MS, StagedDrawing
from .lab_base import LabPanel
from .widgets import combo, select_data

TABLE_HEADERS = {"zero": "zero", "small": "0.01 randn", "large": "randn", "xavier": "Xavier", "he": "He"}
RIDGE_HEIGHT = 0.9   # each layer's histogram fills this much of its unit-high band
LAYER_LABEL_PX = 13  # the height a layer number needs on the axis
TABLE_MIN_ROWS = 6   # the std table's rows always in view
WIDEST_STD_TEXT = "8.8e-88"   # the widest a std (>= 0) writes in "{:.2g}" (up to 1e+99)
CELL_PADDING_PX = 12           # a cell's margins about its text
# The least height of a scheme's row of plots (title, histograms, axis): below it the
# stacks were about 40 px at 1280 x 720, their layers a smear; a short page scrolls instead.
PLOT_ROW_MIN_PX = 110


def layer_color(k, count):
    """Layer k of count, from light to dark blue (deeper layers darker)."""
    t = 0.0 if count == 1 else k / (count - 1)
    return pg.mkColor(int(120 - 100 * t), int(180 - 120 * t), int(230 - 60 * t))


class Ridges(pg.GraphicsObject):
    """A plot's stacked histograms as one item: layer k's histogram (its bins' heights
    scaled to its own peak, RIDGE_HEIGHT at most) is a filled step outline standing on the
    line y = k, layer 1 at the bottom, deeper layers darker.

    One item a plot, not one curve a layer: a hundred curves (ten layers, ten plots) given
    new data and painted held the GUI thread 34-129 ms at each change of the lab's
    settings (each curve's data, bounds and path through pyqtgraph's machinery); here a
    result costs one outline a layer, built once, and one paint of them all.
    """

    def __init__(self):
        super().__init__()
        self._layers = []          # [(x (2 bins,), y (2 bins,), outline QPainterPath, fill QPainterPath, pen, brush)]
        self._rect = QtCore.QRectF()   # the data's extent: x over the edges, y from 0 to the layer count

    def set_histograms(self, edges, shares):
        """``edges`` (bins + 1,), ``shares`` (layers, bins): each layer's share of values
        in each bin (a layer with no positive share lies flat on its line)."""
        edges = np.asarray(edges, dtype=np.float64)
        shares = np.asarray(shares, dtype=np.float64)
        count = shares.shape[0]
        x = np.repeat(edges, 2)[1:-1]   # each bin's left and right edge: a step outline (2 bins,)
        layers = []
        for k, share in enumerate(shares):
            peak = share.max() if share.size else 0.0
            height = share / peak * RIDGE_HEIGHT if peak > 0 else np.zeros_like(share)
            y = np.repeat(k + height, 2)
            outline = pg.arrayToQPath(x, y, connect="finite")
            fill = QtGui.QPainterPath(outline)
            fill.lineTo(x[-1], k)   # down to the layer's line and back along it
            fill.lineTo(x[0], k)
            fill.closeSubpath()
            color = layer_color(k, count)
            brush = pg.mkColor(color)
            brush.setAlpha(70)
            # a one-pixel outline: Qt strokes a cosmetic pen of width 1 on its fast path; 1.5
            # took about 12 times as long a path (0.5 ms against 0.04 ms, 120-point outlines)
            layers.append((x, y, outline, fill, pg.mkPen(color, width=1), QtGui.QBrush(brush)))
        self.prepareGeometryChange()
        self._layers = layers
        self._rect = QtCore.QRectF(float(edges[0]), 0.0, float(edges[-1] - edges[0]), float(count)) \
            if edges.size >= 2 and count else QtCore.QRectF()
        self.informViewBoundsChanged()
        self.update()

    def layer_data(self):
        """[(x, y)] of each layer's drawn outline (arrays (2 bins,)), layer 1 first."""
        return [(x, y) for x, y, *_rest in self._layers]

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if self._rect.isNull():
            return None, None
        if ax == 0:
            return self._rect.left(), self._rect.right()
        return self._rect.top(), self._rect.bottom()

    def boundingRect(self):
        if self._rect.isNull():
            return QtCore.QRectF()
        # (and the outline's half width and antialiasing, in pixels whatever the scale)
        pixel_x, pixel_y = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        return self._rect.adjusted(-2 * pixel_x, -2 * pixel_y, 2 * pixel_x, 2 * pixel_y)

    def viewTransformChanged(self):
        self.prepareGeometryChange()   # (the pixel padding above is in data units)

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for _x, _y, outline, fill, pen, brush in self._layers:
            painter.fillPath(fill, brush)
            painter.setPen(pen)
            painter.drawPath(outline)


def draw_ridges(plot, edges, shares):
    """One histogram per layer, stacked upwards (layer 1 at the bottom): ``edges`` (bins + 1,),
    ``shares`` (layers, bins). Each is scaled to its own peak, so a layer collapsed into one
    bin shows as a spike rather than vanishing next to a wide one (see :class:`Ridges`)."""
    ridges = getattr(plot, "ridges", None)
    if ridges is None:
        ridges = plot.ridges = Ridges()
        plot.addItem(ridges)
    ridges.set_histograms(edges, shares)
    count = shares.shape[0]
    plot.setYRange(0, count, padding=0.02)
    plot.layer_count = count
    label_layers(plot)


def label_layers(plot):
    """The layer numbers the plot's height holds (one a LAYER_LABEL_PX), the first and the
    last among them: at 1280 x 720 each plot is about 40 px tall, and five labels of ten
    layers ran into one another."""
    count = getattr(plot, "layer_count", 0)
    if not count:
        return
    room = max(2, int(plot.vb.height() // LAYER_LABEL_PX)) if plot.vb.height() > 0 else 2
    every = max(1, -(-(count - 1) // max(1, room - 1)))   # (ceil: at most ``room`` labels)
    shown = sorted({0, count - 1, *range(0, count, every)})
    while len(shown) > room and len(shown) > 2:   # the last step may crowd the top: drop its neighbour
        shown.pop(-2)
    ticks = [[(k + 0.4, str(k + 1)) for k in shown]]
    if ticks != getattr(plot, "layer_ticks", None):   # (new ticks draw the axis again: about 1 ms)
        plot.getAxis("left").setTicks(ticks)
        plot.layer_ticks = ticks


class ScrolledPlots(pg.GraphicsLayoutWidget):
    """The lab's plots inside a scroll area: the mouse wheel scrolls the page (it zoomed the
    histogram under the pointer and left the page where it was). ``scroll_bar``: the
    area's vertical bar, which gets the wheel (an ignored wheel event would reach the area
    only when it came from the window system)."""

    scroll_bar = None

    def wheelEvent(self, event):
        if self.scroll_bar is None:
            event.ignore()
            return
        QtWidgets.QApplication.sendEvent(self.scroll_bar, event)


class InitializationLab(LabPanel):
    """Per scheme: each hidden layer's activation histogram and each weight matrix's
    log10 |gradient| histogram, stacked by layer; the activation std per layer as a table."""

    lab = "init"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        defaults = DEFAULT_SETTINGS["init"]
        layout = QtWidgets.QVBoxLayout(self.body)
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Input"))
        self.inputs = combo([("unit-Gaussian (the notes)", "gaussian"), ("the data set's features", "data")])
        self.inputs.setObjectName("initLabInput")
        self.inputs.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.inputs.setToolTip("Unit-Gaussian input of the layers' width, as in the notes' experiment, or the "
                               "training data")
        self.inputs.setMinimumWidth(self.inputs.sizeHint().width())   # (its choice whole, not cut)
        controls.addWidget(self.inputs)
        controls.addWidget(QtWidgets.QLabel("Activation"))
        self.activation = combo([("tanh", "tanh"), ("ReLU", "relu"), ("leaky ReLU", "leaky_relu"),
                                 ("sigmoid", "sigmoid"), ("ELU", "elu")])
        self.activation.setObjectName("initLabActivation")
        # as wide as its longest name, "leaky ReLU" (14 characters left the input's box
        # cut to "unit-Gaussian (the" at 1600 x 1000)
        self.activation.setMinimumContentsLength(len("leaky ReLU"))
        select_data(self.activation, defaults["activation"])
        controls.addWidget(self.activation)
        controls.addWidget(QtWidgets.QLabel("Hidden layers"))
        self.depth = QtWidgets.QSpinBox()
        self.depth.setKeyboardTracking(False)   # (computed when typing ends: not for each digit on the way)
        self.depth.setObjectName("initLabDepth")
        self.depth.setRange(1, 20)
        self.depth.setValue(defaults["depth"])
        self.depth.setToolTip("How many hidden layers of the same width: the effect of a scheme compounds with "
                              "depth (the notes use 10)")
        controls.addWidget(self.depth)
        controls.addWidget(QtWidgets.QLabel("Units per layer"))
        self.width = QtWidgets.QSpinBox()
        self.width.setKeyboardTracking(False)   # (computed when typing ends: not for each digit on the way)
        self.width.setObjectName("initLabWidth")
        self.width.setRange(10, 1000)
        self.width.setSingleStep(50)
        self.width.setValue(defaults["width"])
        self.width.setToolTip("Units in every hidden layer (the notes use 500)")
        controls.addWidget(self.width)
        self.batchnorm = QtWidgets.QCheckBox("Batch norm")
        self.batchnorm.setObjectName("initLabBatchnorm")
        self.batchnorm.setChecked(bool(defaults["batchnorm"]))
        self.batchnorm.setToolTip("Normalize each unit's pre-activation over the batch (training-mode statistics, "
                                  "gamma 1, beta 0) between each affine layer and its activation")
        controls.addWidget(self.batchnorm)
        controls.addStretch(1)
        layout.addLayout(controls)
        row = QtWidgets.QHBoxLayout()
        self.graphics = ScrolledPlots()
        self.graphics.setBackground("w")
        self.graphics.setMinimumHeight(PLOT_ROW_MIN_PX * len(INIT_LAB_SCHEMES))
        self.plots_area = QtWidgets.QScrollArea()
        self.plots_area.setObjectName("initLabPlots")
        self.plots_area.setWidgetResizable(True)
        self.plots_area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.plots_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.plots_area.setWidget(self.graphics)
        self.graphics.scroll_bar = self.plots_area.verticalScrollBar()
        row.addWidget(self.plots_area, 4)
        self.table = QtWidgets.QTableWidget(0, len(INIT_LAB_SCHEMES))
        self.table.setObjectName("initLabTable")
        self.table.setHorizontalHeaderLabels([TABLE_HEADERS[s] for s in INIT_LAB_SCHEMES])
        # columns as wide as the widest number their format writes, whatever the result: sized
        # to each result's numbers, the table's width and with it the plots' changed, and
        # every plot was laid out and painted again (50-130 ms of the GUI thread)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Standard deviation of each hidden layer's activations, per scheme")
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._row_header_px = 0   # the row header's width (see _fit_table)
        # zero init's sentence sits under the table, beside the plots: below them it would
        # take the histograms' height in a 720-pixel window
        self.symmetry = QtWidgets.QLabel("")
        self.symmetry.setObjectName("initLabSymmetry")
        self.symmetry.setWordWrap(True)
        self.symmetry.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(QtWidgets.QLabel("Activation std per layer"))
        right.addWidget(self.table)
        right.addWidget(self.symmetry, 1)
        row.addLayout(right, 0)
        layout.addLayout(row, 1)
        layout.addWidget(self.status)
        self.activation_plots, self.gradient_plots = {}, {}
        for index, scheme in enumerate(INIT_LAB_SCHEMES):
            left = self.graphics.addPlot(row=index, col=0)
            left.setTitle(INIT_LAB_LABELS[scheme], size="8pt")
            right_plot = self.graphics.addPlot(row=index, col=1)
            right_plot.setTitle(f"{TABLE_HEADERS[scheme]}: log10 |gradient|", size="8pt")
            for plot in (left, right_plot):
                plot.getAxis("bottom").enableAutoSIPrefix(False)
                plot.getAxis("left").enableAutoSIPrefix(False)
                plot.setLabel("left", "layer", color="k")
                # (the panel's method, not a lambda: PyQt disconnects it when the panel goes)
                plot.vb.sigResized.connect(self._on_plot_resized)
            self.activation_plots[scheme], self.gradient_plots[scheme] = left, right_plot
        self.drawing = StagedDrawing(self, STAGE_DELAY_MS)
        for widget in (self.inputs, self.activation):
            widget.currentIndexChanged.connect(self.refresh)
        for widget in (self.depth, self.width):
            widget.valueChanged.connect(self.refresh)
        self.batchnorm.toggled.connect(self.refresh)
        state.problem_changed.connect(self._follow_problem)
        self._follow_problem()

    def _on_plot_resized(self, view_box):
        """A plot's layer numbers, chosen again for its new height."""
        for plot in (*self.activation_plots.values(), *self.gradient_plots.values()):
            if plot.vb is view_box:
                label_layers(plot)

    def settings(self):
        return {"activation": self.activation.currentData(), "depth": self.depth.value(),
                "width": self.width.value(), "inputs": self.inputs.currentData(),
                "batchnorm": self.batchnorm.isChecked()}

    def _follow_problem(self):
        """Start from the network's own activation when the model is a network."""
        problem = self.state.problem
        if problem.model == "net" and self.activation.currentData() != problem.activation:
            select_data(self.activation, problem.activation)
            if self.isVisible():
                self.refresh()

    def show_result(self, experiment):
        lines = []
        table = self.table
        table.setRowCount(experiment.depth)
        table.setVerticalHeaderLabels([f"layer {k + 1}" for k in range(experiment.depth)])
        for column, stats in enumerate(experiment.statistics):
            for k, std in enumerate(stats.activation_std):
                table.setItem(k, column, QtWidgets.QTableWidgetItem(f"{std:.2g}"))
            extra = ""
            if np.isfinite(stats.saturated).all():
                extra = f", saturated (|h| > {SATURATION_LEVEL}) {100 * stats.saturated.max():.0f}% at most"
            elif stats.dead.any():
                extra = f", dead (zero) {100 * stats.dead.mean():.0f}%"
            if stats.gradient_zero.any():
                extra += f", up to {100 * stats.gradient_zero.max():.0f}% of a layer's gradient exactly 0"
            if stats.gradient_nonfinite.any():
                extra += ", the gradient overflowed"
            lines.append(f"<b>{TABLE_HEADERS[stats.scheme]}</b>: activation std per layer "
                         f"{stats.activation_std[0]:.2g} → {stats.activation_std[-1]:.2g}, first-layer gradient "
                         f"norm {stats.gradient_norm[0]:.1e}{extra}")
        source = (f"{experiment.examples} unit-Gaussian inputs" if experiment.inputs == "gaussian" else
                  f"{experiment.examples} training examples")
        if experiment.batchnorm:
            stack = (f"{experiment.depth} hidden layers of {experiment.width} units, affine → batch norm (training-"
                     f"mode statistics of the batch) → {experiment.activation}")
            lesson = ("Batch norm rescales every layer's pre-activations to unit spread over the batch, so the scale "
                      "of the random weights no longer reaches the activations: even 0.01 keeps the spread.")
        else:
            stack = f"{experiment.depth} hidden layers of {experiment.width} {experiment.activation} units"
            lesson = ("Too small: activations and gradients shrink towards 0; too large: tanh/sigmoid units "
                      "saturate; Xavier (tanh) and He (ReLU) keep the spread.")
        self._fit_table()
        # the histograms a scheme's row at a time, each row painted in a turn of its own:
        # the ten plots drawn and painted at once held the GUI thread 40-60 ms
        self.drawing.start([functools.partial(self._draw_histograms, stats) for stats in experiment.statistics])
        self.symmetry.setText(symmetry_text(experiment.symmetry))
        self.status.setText(f"{stack}, {source}; one histogram per layer, deeper layers higher and darker (the "
                            f"gradients' top row: the output layer). {lesson}<br>" + "; ".join(lines))

    def _draw_histograms(self, stats):
        """One scheme's row of plots: its activations' and its gradients' histograms."""
        draw_ridges(self.activation_plots[stats.scheme], stats.activation_edges, stats.activation_share)
        draw_ridges(self.gradient_plots[stats.scheme], stats.gradient_edges, stats.gradient_share)

    def _fit_table(self):
        """Size the table to its contents: every scheme's column and every layer's row in view."""
        table = self.table
        header = table.horizontalHeader()
        widest = table.fontMetrics().horizontalAdvance(WIDEST_STD_TEXT) + CELL_PADDING_PX
        for column in range(table.columnCount()):
            table.setColumnWidth(column, max(widest, header.sectionSizeHint(column)))
        frame = 2 * table.frameWidth()
        # The width is the same at every depth: the row header as wide as the deepest
        # network's last label ("layer 20"), and room for the scroll bar a table of more rows
        # than are sure to be in view may need (the He column hid under it at 1280 x 720).
        # Sized to each result's rows, the width changed past 6 and past 9 layers, and every
        # plot beside the table was laid out and painted again (38-55 ms of the GUI thread).
        rows = table.verticalHeader()
        shown = max((rows.fontMetrics().horizontalAdvance(table.verticalHeaderItem(k).text())
                     for k in range(table.rowCount())), default=0)
        deepest = rows.fontMetrics().horizontalAdvance(f"layer {self.depth.maximum()}")
        # (never narrower than before: the header's own sizing rounds a pixel either way)
        self._row_header_px = max(self._row_header_px, rows.sizeHint().width() - shown + max(deepest, shown))
        rows.setFixedWidth(self._row_header_px)
        scroll = table.verticalScrollBar().sizeHint().width()
        table.setFixedWidth(self._row_header_px + table.horizontalHeader().length() + frame + scroll)
        height = table.horizontalHeader().height() + table.verticalHeader().length() + frame
        table.setMaximumHeight(height)
        # at least TABLE_MIN_ROWS rows in view, the rest by scrolling where the page is short:
        # twelve, at 1280 x 720 with 20 layers, pushed the table under the verdict below it
        table.setMinimumHeight(min(height, table.horizontalHeader().height() + frame
                                   + TABLE_MIN_ROWS * table.verticalHeader().defaultSectionSize()))
        self.symmetry.setFixedWidth(table.width())


def _amount(value):
    return "0" if value == 0 else f"{value:.1e}"


def symmetry_text(check):
    """One sentence on zero init's symmetry (a core SymmetryCheck), with its numbers."""
    if check is None:
        return ""
    measured = (f"after {check.steps} gradient steps (learning rate {check.learning_rate:g}) on the same input, the "
                f"largest difference between two hidden units of a layer is {_amount(check.unit_difference.max())} "
                f"in their activations and {_amount(check.column_difference.max())} in their weights")
    contrast = (f" From Xavier weights the same steps leave units differing by up to "
                f"{check.contrast_unit_difference.max():.2g}.")
    if not check.identical:
        return f"<b>Zero init</b>: {measured}: the symmetry broke (rounding grew).{contrast}"
    if check.hidden_moved:
        how = (f"The hidden weights do move (a layer's norm reaches {check.moved[:-1].max():.2g}), but in lockstep: "
               "every unit computes the same function and receives the same gradient.")
    else:
        how = ("The hidden weights never even move: every unit outputs the same value and the zero weights above "
               "send back no gradient; only the output layer learns.")
    return f"<b>Zero init: all hidden units stay identical</b>: {measured}. {how}{contrast}"
