"""Sanity-check lab: the loss at a tiny random W, and overfitting a tiny subset."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from .lab_base import LabPanel


class SanityLab(LabPanel):
    """The loss at a tiny random W against its expected value, and 20 examples fitted
    without regularization (linear classifiers)."""

    lab = "sanity"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        self.initial = QtWidgets.QLabel("")
        self.initial.setObjectName("sanityInitial")
        self.initial.setWordWrap(True)
        self.overfit = QtWidgets.QLabel("")
        self.overfit.setObjectName("sanityOverfit")
        self.overfit.setWordWrap(True)
        layout.addWidget(QtWidgets.QLabel("<h3>1. The loss at initialization</h3>"))
        layout.addWidget(self.initial)
        layout.addWidget(QtWidgets.QLabel("<h3>2. Overfit a tiny subset (20 examples, no regularization)</h3>"))
        layout.addWidget(self.overfit)
        layout.addWidget(self.status)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLogMode(False, True)
        self.plot.setLabel("bottom", "gradient descent step", color="k")
        self.plot.setLabel("left", "loss of the 20 examples (log scale)", color="k")
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#009E73", width=2))
        layout.addWidget(self.plot_widget, 1)

    def show_result(self, report):
        ok = report.relative_gap < 0.01
        self.initial.setText(
            f"At W = 1e-4 x randn every score is about 0, so the loss should be {report.expected_formula} = "
            f"<b>{report.expected:.4f}</b>. Measured: <b>{report.loss_at_tiny_w:.4f}</b> "
            f"({100 * report.relative_gap:.2f}% off) — "
            + ("<span style='color:#090'>as expected</span>" if ok else
               "<span style='color:#b00'>far off: suspect a bug in the loss</span>"))
        steps = np.arange(report.subset_losses.size)
        drawable = np.isfinite(report.subset_losses)
        # a log axis: a loss of exactly 0 shows at 1e-300
        self.curve.setData(steps[drawable], np.maximum(report.subset_losses[drawable], 1e-300))
        self.overfit.setText(
            f"Loss from {report.subset_losses[0]:.4f} to <b>{report.subset_losses[-1]:.2e}</b> in "
            f"{report.subset_losses.size - 1} steps; training accuracy on the subset {100 * report.subset_accuracy:.0f}% — "
            + ("<span style='color:#090'>the model can fit data: the gradient works</span>" if report.overfits else
               "<span style='color:#b00'>not fitting a tiny subset signals a bug</span>"))
        self.status.setText("")
