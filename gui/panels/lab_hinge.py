"""Piecewise-linear anatomy of the SVM loss: hinge terms one by one."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from core.landscapes.directions import Plane
from core.labs.lessons import hinge_kinks, hinge_terms_along_cut, kink_range, toy_hinge_problem
from core.landscapes.landscape import make_axis
from core.models.objectives import LinearClassifier

from ..figures import PALETTE
from .lab_base import LabPanel


class HingeAnatomyLab(LabPanel):
    """Left: one example's SVM loss along the cut, each hinge term drawn and their sum.
    Right: the notes' toy problem (three 1-D points, three classes) against one weight.
    A button switches the main slice between this example and the data-set mean."""

    kind = "lab:hinge"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        self.example = QtWidgets.QSpinBox()
        self.example.setObjectName("hingeExample")
        self.example.setRange(0, 10 ** 6)
        self.example.setToolTip("The training example whose hinge terms are drawn")
        self.toggle = QtWidgets.QPushButton("Show this example on the 2-D slice")
        self.toggle.setObjectName("hingeToggle")
        self.toggle.setToolTip("Switch the main slice between this example's loss and the data-set mean")
        self.weight = QtWidgets.QComboBox()
        for row in range(3):
            for column, name in enumerate(("w", "b")):
                self.weight.addItem(f"W[{row}, {name}]", (row, column))
        self.weight.setToolTip("The toy problem's weight on the horizontal axis")
        for widget in (QtWidgets.QLabel("Example"), self.example, self.toggle, QtWidgets.QLabel("Toy weight"),
                       self.weight):
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.status)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.cut_plot = self.graphics.addPlot(row=0, col=0, title="one example along the cut: hinge terms and sum")
        self.toy_plot = self.graphics.addPlot(row=0, col=1, title="toy: 3 points, 3 classes, loss against one weight")
        for plot, label in ((self.cut_plot, "s: position along the cut"), (self.toy_plot, "the chosen weight")):
            plot.setLabel("bottom", label, color="k")
            plot.setLabel("left", "SVM loss", color="k")
            plot.addLegend(labelTextColor="k", offset=(10, 10))
            plot.getAxis("left").enableAutoSIPrefix(False)
        layout.addWidget(self.graphics, 1)
        self.example.valueChanged.connect(self.refresh)
        self.weight.currentIndexChanged.connect(self.refresh)
        self.toggle.clicked.connect(self.toggle_slice)
        state.view_changed.connect(self.invalidate)
        state.slice_changed.connect(self._sync_toggle)

    def _sync_toggle(self):
        showing = self.state.slice.component.startswith("example")
        self.toggle.setText("Show the data-set mean on the 2-D slice" if showing else
                            "Show this example on the 2-D slice")

    def toggle_slice(self):
        showing = self.state.slice.component.startswith("example")
        self.state.set_slice(component="data" if showing else f"example:{self.example.value()}")

    def make_job(self):
        state = self.state
        objective, plane = state.objective, state.plane
        if not isinstance(objective, LinearClassifier) or plane.dir2 is None:
            self.status.setText("The hinge anatomy is about the linear SVM and needs a 2-D slice: choose the linear "
                                "model in the Model panel.")
            return None
        svm = objective if objective.loss_name == "svm" else LinearClassifier(
            objective.train, objective.val, "svm", objective.delta, objective.regularizer, objective.regularize_bias)
        self.example.setMaximum(svm.n_train - 1)
        origin, direction, (s0, s1) = state.cut_line()
        line = Plane(plane.point(*origin), direction[0] * plane.dir1 + direction[1] * plane.dir2, None,
                     {"kind": "cut"})
        example, (row, column) = self.example.value(), self.weight.currentData()

        def job(report, should_stop):
            # widen the cut until it holds every kink of this example's hinge terms
            low, high = kink_range(hinge_kinks(svm, line, example), at_least=(s0, s1))
            alphas = make_axis(low, high, 801)
            terms, classes = hinge_terms_along_cut(svm, line, example, alphas)
            weights = np.linspace(-4, 4, 401)
            total, toy_terms = toy_hinge_problem(weights, row, column)
            return alphas, terms, classes, int(svm.y[example]), weights, total, toy_terms

        return job

    def show_result(self, result):
        alphas, terms, classes, label, weights, total, toy_terms = result
        for plot in (self.cut_plot, self.toy_plot):
            plot.clear()
            plot.legend.clear()
        for k, (j, term) in enumerate(zip(classes, terms)):
            if np.any(term > 0):
                self.cut_plot.plot(alphas, term, pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=1.5),
                                   name=f"max(0, s{j} - s{label} + delta)")
        self.cut_plot.plot(alphas, terms.sum(axis=0), pen=pg.mkPen("k", width=3), name="sum: the example's loss")
        for k, ((i, j), term) in enumerate(toy_terms.items()):
            self.toy_plot.plot(weights, term, pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=1.5),
                               name=f"point {i}, class {j}")
        self.toy_plot.plot(weights, total, pen=pg.mkPen("k", width=3), name="mean over the 3 points")
        active = int(np.sum(np.any(terms > 0, axis=1)))
        self.status.setText(f"Example {self.example.value()} (class {label}), along the cut's direction through the "
                            f"slice's centre, widened to s in [{alphas[0]:.3g}, {alphas[-1]:.3g}] to hold every kink: "
                            f"{active} of {len(classes)} hinge terms are active somewhere; each is zero on one side of its kink and linear on the "
                            "other, so their sum is piecewise linear. Averaged over many examples the kinks blur into "
                            "a bowl.")
        self._sync_toggle()
