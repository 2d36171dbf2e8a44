"""Weight-initialization lab: each hidden layer's activations and each weight matrix's
gradient at initialization, for the four schemes side by side (the notes' experiment)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from core.labs.lessons import INIT_LAB_LABELS, INIT_LAB_SCHEMES, initialization_statistics

from .lab_base import LabPanel
from .widgets import combo, select_data

BINS = 60


def layer_color(k, count):
    """Layer k of count, from light to dark blue (deeper layers darker)."""
    t = 0.0 if count == 1 else k / (count - 1)
    return pg.mkColor(int(120 - 100 * t), int(180 - 120 * t), int(230 - 60 * t))


class InitializationLab(LabPanel):
    kind = "lab:init"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self)
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Activation"))
        self.activation = combo([("tanh", "tanh"), ("ReLU", "relu"), ("leaky ReLU", "leaky_relu"),
                                 ("sigmoid", "sigmoid"), ("ELU", "elu")])
        self.activation.setObjectName("initLabActivation")
        controls.addWidget(self.activation)
        controls.addWidget(QtWidgets.QLabel("Hidden layers"))
        self.depth = QtWidgets.QSpinBox()
        self.depth.setObjectName("initLabDepth")
        self.depth.setRange(1, 10)
        self.depth.setToolTip("1 is the app's two-layer network; more layers of the same width show how the "
                              "effect of a scheme compounds with depth, as in the notes")
        controls.addWidget(self.depth)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.status)
        self.activation_plots, self.gradient_plots = {}, {}
        for row, scheme in enumerate(INIT_LAB_SCHEMES):
            left = self.graphics.addPlot(row=row, col=0, title=f"{INIT_LAB_LABELS[scheme]}: activations")
            right = self.graphics.addPlot(row=row, col=1, title="log10 |weight gradient|")
            for plot in (left, right):
                plot.getAxis("bottom").enableAutoSIPrefix(False)
                plot.getAxis("left").enableAutoSIPrefix(False)
            self.activation_plots[scheme], self.gradient_plots[scheme] = left, right
        self.activation.currentIndexChanged.connect(self.refresh)
        self.depth.valueChanged.connect(self.refresh)
        state.problem_changed.connect(self._follow_problem)
        self._follow_problem()

    def _follow_problem(self):
        """Start from the network's own activation when the model is a network."""
        problem = self.state.problem
        if problem.model == "net" and self.activation.currentData() != problem.activation:
            select_data(self.activation, problem.activation)
            self.invalidate()

    def make_job(self):
        objective = self.state.objective
        if not objective.has_data:
            self.status.setText("The initialization lab needs a data set (choose a classifier in the Data panel).")
            return None
        X, y, classes = objective.train.X, objective.train.y, objective.n_classes
        hidden = objective.hidden if objective.is_network else self.state.problem.hidden
        activation, depth, seed = self.activation.currentData(), self.depth.value(), self.state.slice.seed
        slope = self.state.problem.slope

        def job(report, should_stop):
            report(0.2, "initialization statistics")
            return initialization_statistics(X, y, classes, hidden, activation, depth, seed=seed, slope=slope)

        return job

    def show_result(self, results):
        if results is None:
            return
        depth = len(results[0].activations)
        lines = []
        for stats in results:
            left, right = self.activation_plots[stats.scheme], self.gradient_plots[stats.scheme]
            left.clear()
            right.clear()
            values = np.concatenate([a.ravel() for a in stats.activations])
            low, high = float(values.min()), float(values.max())
            if high <= low:
                high = low + 1e-12
            edges = np.linspace(low, high, BINS + 1)
            for k, layer in enumerate(stats.activations):
                counts, _ = np.histogram(layer, bins=edges)
                left.plot(edges, counts / layer.size, stepMode="center", pen=pg.mkPen(layer_color(k, depth), width=2))
            logs = [np.log10(np.maximum(np.abs(g.ravel()), 1e-30)) for g in stats.gradients]
            edges = np.linspace(-16, max(1.0, float(np.ceil(max(l.max() for l in logs)))), BINS + 1)
            for k, layer in enumerate(logs):
                counts, _ = np.histogram(layer, bins=edges)
                right.plot(edges, counts / layer.size, stepMode="center",
                           pen=pg.mkPen(layer_color(k, len(logs)), width=2))
            shape = ", ".join(f"{s:.2g}" for s in stats.activation_std)
            extra = ""
            if np.isfinite(stats.saturated).all():
                extra = f"; saturated {100 * stats.saturated.max():.0f}% at most"
            elif stats.dead.any():
                extra = f"; dead (zero) {100 * stats.dead.mean():.0f}%"
            lines.append(f"<b>{INIT_LAB_LABELS[stats.scheme]}</b>: activation std per layer {shape}; "
                         f"first-layer gradient norm {stats.gradient_norm[0]:.2e}{extra}")
        self.status.setText("<br>".join(lines) + "<br>Too small: activations and gradients shrink towards 0 "
                            "(vanishing); too large: tanh/sigmoid units saturate and their gradients vanish too; "
                            "Xavier (tanh) and He (ReLU) keep the spread from layer to layer. Darker curves are "
                            "deeper layers.")
