"""Sanity-check lab: the loss at a tiny random W, and overfitting a tiny subset."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from .lab_base import LabPanel


class SanityLab(LabPanel):
    """The loss at a tiny random W against what a correct loss can be at its scores, and
    20 examples fitted without regularization (linear classifiers and networks); each
    says which of its assumptions fails rather than blame a correct loss."""

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
        # (the fit is Adam's, full batch on the 20 examples: core.labs.lessons.overfit_check)
        self.plot.setLabel("bottom", "Adam step", color="k")
        self.plot.setLabel("left", "loss of the 20 examples (log scale)", color="k")
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#009E73", width=2))
        layout.addWidget(self.plot_widget, 1)

    def show_result(self, report):
        initial, overfit = report.initial, report.overfit
        self.initial.setText(
            f"At W = {initial.scale:g} x randn the notes expect every score to be about 0, and so a loss of "
            f"{initial.formula} = <b>{initial.at_zero:.4f}</b>. Measured: <b>{initial.loss:.4f}</b> "
            f"({100 * initial.relative_gap:.2f}% off) — "
            + _verdict(initial.reason, initial.verdict == "bug", initial.verdict in ("expected", "consistent")))
        steps = np.arange(overfit.losses.size)
        drawable = np.isfinite(overfit.losses)
        # a log axis: a loss of exactly 0 shows at 1e-300
        self.curve.setData(steps[drawable], np.maximum(overfit.losses[drawable], 1e-300))
        self.overfit.setText(
            f"Loss from {overfit.losses[0]:.4f} to <b>{overfit.losses[-1]:.2e}</b> in {overfit.losses.size - 1} "
            f"steps; training accuracy on the subset {100 * overfit.accuracy:.0f}% — "
            + _verdict(overfit.reason, overfit.suspects_bug, overfit.fits)
            + f"<br><small>The run: {html.escape(overfit.method)}.</small>")
        self.status.setText("")


def _verdict(reason, bug, fine):
    """The reason with its first clause coloured: red for a suspected bug, green when the
    check passed, amber when it cannot tell (an assumption of the check fails)."""
    head, _, tail = reason.partition(": ")
    color = "#b00" if bug else "#090" if fine else "#a60"
    return f"<span style='color:{color}'>{html.escape(head)}</span>: {html.escape(tail)}"
