"""Weight-initialization lab: each hidden layer's activations and each weight matrix's
gradient at initialization, for the five schemes side by side (the notes' experiment:
by default 10 layers of 500 tanh units on unit-Gaussian input), with or without batch
norm before each activation, and zero init's symmetry measured after a few steps."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from ..lab_state import DEFAULT_SETTINGS, INIT_LAB_LABELS, INIT_LAB_SCHEMES, SATURATION_LEVEL
from .lab_base import LabPanel
from .widgets import combo, select_data

TABLE_HEADERS = {"zero": "zero", "small": "0.01 randn", "large": "randn", "xavier": "Xavier", "he": "He"}
RIDGE_HEIGHT = 0.9   # each layer's histogram fills this much of its unit-high band
LAYER_LABEL_PX = 13  # the height a layer number needs on the axis
TABLE_MIN_ROWS = 6   # the std table's rows always in view
# The least height of a scheme's row of plots (title, histograms, axis): below it the
# stacks were about 40 px at 1280 x 720, their layers a smear; a short page scrolls instead.
PLOT_ROW_MIN_PX = 110


def layer_color(k, count):
    """Layer k of count, from light to dark blue (deeper layers darker)."""
    t = 0.0 if count == 1 else k / (count - 1)
    return pg.mkColor(int(120 - 100 * t), int(180 - 120 * t), int(230 - 60 * t))


def draw_ridges(plot, edges, shares):
    """One histogram per layer, stacked upwards (layer 1 at the bottom): ``edges`` (bins + 1,),
    ``shares`` (layers, bins). Each is scaled to its own peak, so a layer collapsed into one
    bin shows as a spike rather than vanishing next to a wide one."""
    count = shares.shape[0]
    # the plot's curves are kept and given new data: a new item a layer (clear, then one
    # plot() each) cost about 2.6 ms an item to add, 100 items a result: the GUI thread
    # stalled 80-290 ms at each change of the lab's settings
    curves = plot.ridge_curves = getattr(plot, "ridge_curves", [])
    while len(curves) > count:
        plot.removeItem(curves.pop())
    while len(curves) < count:
        curves.append(plot.plot(stepMode="center"))
    for k, (curve, share) in enumerate(zip(curves, shares)):
        peak = share.max()
        height = share / peak * RIDGE_HEIGHT if peak > 0 else share
        color = layer_color(k, count)
        fill = pg.mkColor(color)
        fill.setAlpha(70)
        curve.setData(edges, k + height, stepMode="center", fillLevel=k, brush=fill, pen=pg.mkPen(color, width=1.5))
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
    plot.getAxis("left").setTicks([[(k + 0.4, str(k + 1)) for k in shown]])


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
        self.depth.setObjectName("initLabDepth")
        self.depth.setRange(1, 20)
        self.depth.setValue(defaults["depth"])
        self.depth.setToolTip("How many hidden layers of the same width: the effect of a scheme compounds with "
                              "depth (the notes use 10)")
        controls.addWidget(self.depth)
        controls.addWidget(QtWidgets.QLabel("Units per layer"))
        self.width = QtWidgets.QSpinBox()
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
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Standard deviation of each hidden layer's activations, per scheme")
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        self.table.setRowCount(experiment.depth)
        self.table.setVerticalHeaderLabels([f"layer {k + 1}" for k in range(experiment.depth)])
        for column, stats in enumerate(experiment.statistics):
            draw_ridges(self.activation_plots[stats.scheme], stats.activation_edges, stats.activation_share)
            draw_ridges(self.gradient_plots[stats.scheme], stats.gradient_edges, stats.gradient_share)
            for k, std in enumerate(stats.activation_std):
                self.table.setItem(k, column, QtWidgets.QTableWidgetItem(f"{std:.2g}"))
            self._fit_table()
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
        self.symmetry.setText(symmetry_text(experiment.symmetry))
        self.status.setText(f"{stack}, {source}; one histogram per layer, deeper layers higher and darker (the "
                            f"gradients' top row: the output layer). {lesson}<br>" + "; ".join(lines))


    def _fit_table(self):
        """Size the table to its contents: every scheme's column and every layer's row in view."""
        table = self.table
        table.resizeColumnsToContents()
        frame = 2 * table.frameWidth()
        # a table of more rows than are sure to be in view may scroll: keep room for the
        # scroll bar so no column hides under it (the He column did, at 1280 x 720)
        scroll = table.verticalScrollBar().sizeHint().width() if table.rowCount() > TABLE_MIN_ROWS else 0
        table.setFixedWidth(table.verticalHeader().width() + table.horizontalHeader().length() + frame + scroll)
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
