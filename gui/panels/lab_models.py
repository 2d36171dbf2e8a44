"""Compare two models: any two model specs on the same data, side by side.

Each side (A, B) is edited here without code: the model (linear or a network of any
depth), its activation (and maxout's pieces), initialization, batch norm and the mode its
slice uses, dropout's keep probability and slice mode, skip connections. The state trains
both from the same seed and slices each around its trained weights with the same kind of
directions, grid and range (core.labs.tasks.compare_models_task); this panel draws each
side's decision regions (2-D data), landscape, accuracies, and the figures that make "this
landscape is smoother" a number: roughness and the non-convex share (core.labs.comparison).
"""
from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.errors import HillwalkError
from hillwalk.core.models.problem import editable_widths, has_skip

from ..contours import TracedContours, no_lines
from ..figures import LandscapeFigure, modes_note
from ..lab_state import MAX_LABEL_CHARS, SIDES
from .lab_base import LabPanel
from .lab_regions import draw_regions
from .widgets import RangeDoubleSpinBox, RangeSpinBox, bind_range, combo, select_data, set_applicable, set_quietly

ACTIVATIONS = [("ReLU", "relu"), ("leaky ReLU", "leaky_relu"), ("tanh", "tanh"), ("sigmoid", "sigmoid"),
               ("ELU", "elu"), ("maxout", "maxout")]
INITS = [("He", "he"), ("Xavier", "xavier"), ("small 0.01", "small"), ("large 1.0", "large"), ("zero", "zero")]
# How the status line names the kind of directions (SliceSpec.directions).
DIRECTION_NAMES = {"filter": "filter-normalized", "layer": "layer-normalized", "model": "model-normalized",
                   "gaussian": "Gaussian (not normalized: their length depends on each model's size)",
                   "gradient": "gradient and filter-normalized"}
LABEL_TIP = "A short caption over this side's plots; empty: a description of the settings"
DROPOUT_MODES = [("off", "off"), ("fixed mask", "fixed"), ("mean of 8", "mean:8"), ("mean of 32", "mean:32")]


class ModelSideEditor(QtWidgets.QGroupBox):
    """The controls of one side; every change goes to ``state.labs.set_model_side``,
    which refuses what the model cannot honour, and the controls then show the side in
    force (``models_changed``)."""

    def __init__(self, state, side, parent=None):
        super().__init__(f"Model {side.upper()}", parent)
        self.state, self.side = state, side
        self.setObjectName(f"modelSide{side.upper()}")
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self.label = QtWidgets.QLineEdit()
        self.label.setMaxLength(MAX_LABEL_CHARS)
        self.label.setPlaceholderText("label")
        self.label.setToolTip(LABEL_TIP)
        self.model = combo([("linear", "linear"), ("network", "net")])
        self.model.setMinimumContentsLength(6)
        self.model.setToolTip("A linear classifier, or a network of hidden layers")
        self.hidden = QtWidgets.QLineEdit()
        self.hidden.setPlaceholderText("e.g. 8 x 32")
        self.hidden.setToolTip("The widths of the hidden layers, separated by commas (32, 32), or layers x units "
                               "(8 x 32: eight layers of 32); applied when the edit ends")
        self.activation = combo(ACTIVATIONS)
        self.activation.setMinimumContentsLength(6)
        self.activation.setToolTip("The hidden layers' nonlinearity")
        self.pieces = RangeSpinBox()
        self.pieces.setPrefix("k = ")
        bind_range(self.pieces, "problem.pieces", state.refuse_value)
        self.pieces.setToolTip("Maxout's affine maps per unit")
        self.init = combo(INITS)
        self.init.setMinimumContentsLength(6)
        self.init.setToolTip("How the initial weights are drawn (seeded, the same seed on both sides)")
        self.batchnorm = QtWidgets.QCheckBox("batch norm")
        self.batchnorm.setToolTip("Batch normalization before each hidden activation")
        self.bn_mode = combo([("eval", "eval"), ("train", "train")])
        self.bn_mode.setMinimumContentsLength(6)
        self.bn_mode.setToolTip("How this side's slice normalizes: eval = the centre's running statistics; train = "
                                "the batch statistics of the full training data at every point")
        self.keep_prob = RangeDoubleSpinBox()
        self.keep_prob.setDecimals(2)
        self.keep_prob.setSingleStep(0.05)
        self.keep_prob.setPrefix("p = ")
        bind_range(self.keep_prob, "problem.keep_prob", state.refuse_value)
        self.keep_prob.setToolTip("Dropout's keep probability (1.00: no dropout)")
        self.dropout_mode = combo(DROPOUT_MODES)
        self.dropout_mode.setMinimumContentsLength(6)
        self.dropout_mode.setToolTip("How this side's slice treats dropout: off, one fixed mask, or the mean over "
                                     "K masks (masks from the problem's seed)")
        self.residual = QtWidgets.QCheckBox("skips")
        self.residual.setToolTip("Residual blocks h + f(h) between hidden layers of equal width")
        self.copy = QtWidgets.QPushButton("← Model")
        self.copy.setToolTip("Make this side the model of the Model panel (and the Landscape panel's modes)")
        # three narrow columns: two sides fit beside each other in the central area of a
        # 1280-pixel window with both docks open
        rows = ((self.model, self.hidden, self.activation),
                (self.init, self.pieces, self.residual),
                (self.batchnorm, self.bn_mode, self.keep_prob),
                (self.dropout_mode, self.label, self.copy))
        for r, row in enumerate(rows):
            for c, widget in enumerate(row):
                grid.addWidget(widget, r, c)
        for c in range(3):
            grid.setColumnStretch(c, 1)
        self.sync()
        send = self.send
        self.model.currentIndexChanged.connect(lambda: send(model=self.model.currentData()))
        self.hidden.editingFinished.connect(self._on_hidden_edited)
        self.activation.currentIndexChanged.connect(lambda: send(activation=self.activation.currentData()))
        self.pieces.valueChanged.connect(lambda v: send(pieces=v))
        self.init.currentIndexChanged.connect(lambda: send(init=self.init.currentData()))
        self.batchnorm.toggled.connect(lambda on: send(batchnorm=on))
        self.bn_mode.currentIndexChanged.connect(lambda: send(bn_mode=self.bn_mode.currentData()))
        self.keep_prob.valueChanged.connect(lambda v: send(keep_prob=v))
        self.dropout_mode.currentIndexChanged.connect(lambda: send(dropout_mode=self.dropout_mode.currentData()))
        self.residual.toggled.connect(lambda on: send(residual=on))
        self.label.editingFinished.connect(lambda: send(label=self.label.text().strip()))
        self.copy.clicked.connect(self._copy_model_panel)
        state.labs.models_changed.connect(self.sync)

    def variant(self):
        return self.state.labs.settings["models"][self.side]

    def send(self, **changes):
        self.state.labs.set_model_side(self.side, **changes)

    def _on_hidden_edited(self):
        if self.hidden.isModified():   # editingFinished comes on Enter and when the focus leaves
            self.hidden.setModified(False)
            self.send(hidden=self.hidden.text())

    def _copy_model_panel(self):
        self.state.labs.copy_model_to_side(self.side)

    def sync(self):
        """Show the side in force, and enable each control only where it means something."""
        variant = self.variant()
        select_data(self.model, variant.model)
        self.hidden.setText(editable_widths(variant.hidden))
        self.hidden.setCursorPosition(0)
        self.hidden.setModified(False)
        select_data(self.activation, variant.activation)
        set_quietly(self.pieces, variant.pieces)
        select_data(self.init, variant.init)
        set_quietly(self.batchnorm, variant.batchnorm)
        select_data(self.bn_mode, variant.bn_mode)
        set_quietly(self.keep_prob, variant.keep_prob)
        if self.dropout_mode.findData(variant.dropout_mode) < 0:   # mean:K of another K, e.g. from a session
            self.dropout_mode.addItem(f"mean of {variant.dropout_mode[5:]}", variant.dropout_mode)
        select_data(self.dropout_mode, variant.dropout_mode)
        set_quietly(self.residual, variant.residual)
        if self.label.text() != variant.label:
            self.label.setText(variant.label)
            self.label.setCursorPosition(0)   # a label longer than the box shows its start
        # ... and the tip shows it whole (at 1280 x 720 the box shows about 20 characters),
        # whether the label came from a preset or was typed here
        self.label.setToolTip(f"{html.escape(variant.label)}<br><br>{LABEL_TIP}" if variant.label else LABEL_TIP)
        network = variant.model == "net"
        linear = "a linear classifier has no hidden layers; choose network"
        for widget in (self.hidden, self.activation, self.init, self.batchnorm, self.keep_prob):
            set_applicable(widget, network, linear)
        set_applicable(self.pieces, network and variant.activation == "maxout",
                       linear if not network else "only maxout has pieces")
        set_applicable(self.bn_mode, network and variant.batchnorm,
                       linear if not network else "without batch norm the slice has no batch-norm mode")
        set_applicable(self.dropout_mode, network and variant.keep_prob < 1.0,
                       linear if not network else "without dropout (p = 1) the slice has no dropout mode")
        widths = variant.hidden
        skip = has_skip(widths)
        set_applicable(self.residual, network and skip,
                       linear if not network else "skip connections need two consecutive hidden layers of equal "
                       f"width; the widths are {', '.join(map(str, widths))}")


class CompareModelsLab(LabPanel):
    """Two models side by side: regions (2-D data), landscapes with their roughness, accuracies."""

    lab = "models"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        layout.setContentsMargins(4, 2, 4, 2)
        editors = QtWidgets.QHBoxLayout()
        self.editors = {side: ModelSideEditor(state, side) for side in SIDES}
        for editor in self.editors.values():
            editors.addWidget(editor, 1)
        layout.addLayout(editors)
        layout.addWidget(self.status)
        # per side, its decision regions (2-D data only) over its landscape, and the figures
        # under it; the regions get 2 parts of the height, the landscapes 3
        self.graphics = QtWidgets.QWidget()   # the regions' row, hidden for other data
        regions_row = QtWidgets.QHBoxLayout(self.graphics)
        regions_row.setContentsMargins(0, 0, 0, 0)
        self.region_plots, self.region_images, self.region_points = {}, {}, {}
        for side in SIDES:
            widget = pg.PlotWidget(background="w")
            widget.setMinimumHeight(120)
            plot = widget.getPlotItem()
            # a unit of x as long as a unit of y, as the Decision regions lab draws them (the
            # spiral was squashed to a third of its height in a wide, short row)
            plot.setAspectLocked(True)
            image = pg.ImageItem(axisOrder="row-major")
            points = pg.ScatterPlotItem(size=5, pen=pg.mkPen("k", width=0.5))
            plot.addItem(image)
            plot.addItem(points)
            regions_row.addWidget(widget, 1)
            self.region_plots[side], self.region_images[side], self.region_points[side] = plot, image, points
        landscapes = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(landscapes)
        row.setContentsMargins(0, 0, 0, 0)
        self.figures, self.figure_texts = {}, {}
        for side in SIDES:
            column = QtWidgets.QVBoxLayout()
            self.figures[side] = LandscapeFigure()
            self.figures[side].setMinimumHeight(160)
            self.figure_texts[side] = QtWidgets.QLabel("")
            self.figure_texts[side].setObjectName(f"modelFigures{side.upper()}")
            self.figure_texts[side].setWordWrap(True)
            # room for three lines whatever they hold: a word-wrapped label asks for its
            # height too late for the layout, and drew over the figure's axis label
            self.figure_texts[side].setMinimumHeight(3 * self.fontMetrics().lineSpacing() + 4)
            self.figure_texts[side].setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
            self.figure_texts[side].setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            column.addWidget(self.figures[side], 1)
            column.addWidget(self.figure_texts[side])
            row.addLayout(column, 1)
        # a splitter shares the height as asked (a layout's stretch gave the landscapes,
        # whose size hints are large, nearly all of it) and lets the reader move the line
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.graphics)
        self.splitter.addWidget(landscapes)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([400, 600])
        layout.addWidget(self.splitter, 1)
        self.traced = TracedContours()   # contour lines traced in a worker
        state.view_changed.connect(lambda: self.result is not None and self.show_result(self.result))
        state.figure_contours_ready.connect(self._on_contours_ready)

    def show_result(self, comparison):
        if comparison is None:
            return
        view = self.state.view
        with_regions = all(comparison[side].regions is not None for side in SIDES)
        self.graphics.setVisible(with_regions)
        missing, lines = {}, []
        for side in SIDES:
            trained = comparison[side]
            name = self.side_name(side, trained)
            if with_regions:
                regions = trained.regions
                draw_regions(self.region_images[side], self.region_points[side],
                             (regions.xs, regions.ys, regions.classes), trained.model)
                self.region_plots[side].setTitle(f"{side.upper()}: {name}", color="k", size="9pt")
            landscape = trained.landscape
            contour = self.traced.lines_for(side, landscape, view)
            if contour is None:
                missing[side] = landscape
            self.figures[side].show_landscape(landscape, colormap=view.colormap, log_scale=view.log_scale,
                                              contours=view.contours,
                                              title=None if with_regions else f"{side.upper()}: {name}",
                                              lines=no_lines() if contour is None else contour, narrow=True)
            self.figure_texts[side].setText(figure_text(trained))
            lines.append(f"<b>{side.upper()}</b> {name}: training accuracy {100 * trained.train_accuracy:.1f}%")
        if missing:
            self.state.request_figure_contours(self.lab, missing)
        directions = DIRECTION_NAMES.get(comparison.directions, comparison.directions)
        changed = f" ({comparison.directions_changed})" if comparison.directions_changed else ""
        self.status.setText(f"Both trained by {comparison.train_steps} steps of full-batch gradient descent from the "
                            f"same seed, each sliced around its own minimum on a {comparison.grid} x "
                            f"{comparison.grid} grid over the same range, with {directions} directions{changed}. "
                            + "; ".join(lines) + ".")

    def side_name(self, side, trained):
        """A side's title: its label in force (a new label retitles a result made before
        it), or the result's own description when the side has changed since."""
        current = self.state.labs.comparison()[SIDES.index(side)]
        same = replace(current, label=trained.variant.label) == trained.variant
        return current.describe() if same else trained.variant.describe()

    def _on_pending(self, lab):
        super()._on_pending(lab)
        if lab == self.lab:   # the figures under the old landscapes are not the new sides'
            for text in self.figure_texts.values():
                text.setText("")

    def _on_failed(self, lab, message):
        super()._on_failed(lab, message)
        if lab == self.lab and self.result is None:
            for text in self.figure_texts.values():
                text.setText("")

    def _on_contours_ready(self, owner, traced):
        if owner != self.lab or self.result is None:
            return
        shown = {side: self.result[side].landscape for side in SIDES}
        for side, lines in self.traced.accept(traced, shown, self.state.view).items():
            self.figures[side].show_contours(lines)

    def figures_of(self):
        """{side: (roughness, non-convex share, training accuracy)} of the last result (for tests)."""
        if self.result is None:
            raise HillwalkError("no result yet")
        return {side: (self.result[side].roughness, self.result[side].nonconvex, self.result[side].train_accuracy)
                for side in SIDES}


def figure_text(trained) -> str:
    """The line under a side's landscape: roughness, non-convex share, accuracies, and
    (networks) distinct hidden units; the modes the slice was drawn in."""
    val = "" if np.isnan(trained.val_accuracy) else f", validation {100 * trained.val_accuracy:.1f}%"
    nonconvex = "n/a" if not np.isfinite(trained.nonconvex) else f"{100 * trained.nonconvex:.0f}%"
    parts = [f"<b>roughness {readable(trained.roughness)}</b>", f"non-convex {nonconvex} of the plane",
             f"loss {trained.loss:.3f}", f"training accuracy {100 * trained.train_accuracy:.1f}%{val}"]
    if trained.units:
        distinct = [f"{count}/{width}" for count, width in trained.units]
        shown = distinct if len(distinct) <= 4 else distinct[:2] + ["…"] + distinct[-1:]
        parts.append("distinct units " + ", ".join(shown))
    finite = float(np.mean(np.isfinite(trained.landscape.values)))
    if finite < 1.0:   # the figures average over the finite points only: say how many there were
        parts.insert(2, f"<span style='color:#b00'>finite on {100 * finite:.0f}% of the plane only</span>")
    modes = modes_note(trained.landscape.plane.info)
    if modes:
        parts.append(f"sliced in {modes}")
    return " · ".join(parts)


def readable(value: float) -> str:
    """A figure with three significant digits, large ones whole with thousands separated:
    0.0123, 71.5, 4,066, 1.2e+07."""
    if not np.isfinite(value):
        return "n/a"
    if 1000 <= abs(value) < 1e7:
        return f"{value:,.0f}"
    return f"{value:.3g}"
