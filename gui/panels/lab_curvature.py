"""Curvature lab: the Hessian at a point (core.labs.tasks.curvature_task): its extreme
eigenvalues, trace, condition number and eigenvalue density, the curvature along the
current cut, and the step-size bound 2 / lambda_max, with a race across it one click away."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.errors import HillwalkError

from .lab_base import LabPanel
from .widgets import RangeSpinBox


class CurvatureLab(LabPanel):
    lab = "curvature"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("At:"))
        top.addWidget(self.make_point_choice())
        # the slice's centre by default: a trained minimum, whose curvature sets the step size
        self.point.blockSignals(True)
        self.point.setCurrentIndex(self.point.findData("center"))
        self.point.blockSignals(False)
        top.addWidget(QtWidgets.QLabel("largest eigenvalues:"))
        self.top = RangeSpinBox()
        self.top.setObjectName("curvatureTop")
        self.top.setRange(1, 20)
        self.top.setValue(5)
        self.top.setToolTip("How many of the largest eigenvalues Lanczos finds (and marks on the density)")
        top.addWidget(self.top)
        self.race_button = QtWidgets.QPushButton("Race GD at 0.95 and 1.05 x 2/lambda_max")
        self.race_button.setObjectName("raceAcrossBound")
        self.race_button.setToolTip("Add two full-batch gradient descents with these learning rates to the race, "
                                    "optimizing all parameters (not only within the plane), where the bound holds: "
                                    "below it GD converges on the quadratic model, above it the sharpest direction "
                                    "grows at every step")
        self.race_button.setEnabled(False)
        top.addWidget(self.race_button)
        top.addStretch(1)
        layout.addLayout(top)
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("curvatureSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        plots = QtWidgets.QHBoxLayout()
        self.density_widget = pg.PlotWidget(background="w")
        self.density_plot = self.density_widget.getPlotItem()
        self.density_plot.setTitle("eigenvalue density (stochastic Lanczos quadrature)", color="k", size="9pt")
        self.density_plot.setLabel("bottom", "eigenvalue", color="k")
        self.density_plot.setLabel("left", "density", color="k")
        self.density_curve = self.density_plot.plot([], [], pen=pg.mkPen("#0072B2", width=2))
        self.eigen_marks = pg.ScatterPlotItem(symbol="t", size=10, brush="#D55E00", pen=pg.mkPen("k"))
        self.density_plot.addItem(self.eigen_marks)
        self.along_widget = pg.PlotWidget(background="w")
        self.along_plot = self.along_widget.getPlotItem()
        # a short title: pyqtgraph keeps a plot at least as wide as its title, and the two
        # plots share the page (a longer one was clipped at 1600 x 1000)
        self.along_plot.setTitle("curvature along the cut: u^T H u", color="k", size="9pt")
        self.along_widget.setToolTip("The second derivative of the loss along the cut, u^T H u with u the cut's "
                                     "unit direction, at each position s")
        self.along_plot.setLabel("bottom", "position along the cut (s)", color="k")
        self.along_plot.setLabel("left", "second derivative", color="k")
        self.along_curve = self.along_plot.plot([], [], pen=pg.mkPen("#009E73", width=2))
        self.lambda_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#D55E00", style=QtCore.Qt.PenStyle.DashLine),
                                           label="lambda_max", labelOpts={"position": 0.8, "color": "#D55E00"})
        self.along_plot.addItem(self.lambda_line)
        plots.addWidget(self.density_widget, 1)
        plots.addWidget(self.along_widget, 1)
        layout.addLayout(plots, 1)
        self.top.valueChanged.connect(self.refresh)
        self.race_button.clicked.connect(self._race_across_the_bound)

    def settings(self):
        return {"point": self.point.currentData(), "top": int(self.top.value())}

    def show_result(self, report):
        if report is None:
            return
        self.race_button.setEnabled(report.lambda_max > 0)
        residual = report.top_residuals[0]
        lines = [f"<b>lambda_max {report.lambda_max:.6g}</b> (residual {residual:.1e}); largest: "
                 + ", ".join(f"{v:.4g}" for v in report.top)]
        if report.bottom.size:
            lines.append(f"lambda_min {report.lambda_min:.6g} (residual {report.bottom_residuals[0]:.1e}: "
                         + ("converged" if report.bottom_residuals[0] < 1e-3 * max(abs(report.lambda_min), 1e-12)
                            else "not converged, an estimate") + ")")
            condition = "infinite (lambda_min &lt;= 0: a flat or downward direction)" if not np.isfinite(
                report.condition) else f"{report.condition:.4g}"
            lines.append(f"condition number lambda_max / lambda_min: {condition}")
        trace = f"trace {report.trace:.6g} +- {report.trace_error:.2g} (Hutchinson, 64 probes)"
        if np.isfinite(report.exact_trace):
            trace += f", exact {report.exact_trace:.6g}"
        lines.append(trace)
        lines.append(f"<b>2 / lambda_max = {report.largest_stable_lr:.4g}</b>: full-batch gradient descent with a "
                     "larger learning rate diverges on the quadratic model (the step-size lab's explosion)")
        self.summary.setText("<br>".join(lines))
        if report.density is not None:
            self.density_curve.setData(report.density.grid, report.density.density)
            height = float(np.max(report.density.density)) if report.density.density.size else 1.0
            self.eigen_marks.setData(report.top, np.full(report.top.size, 0.02 * height))
        if report.along is not None:
            positions, curvatures = report.along
            self.along_curve.setData(positions, curvatures)
        else:
            self.along_curve.setData([], [])
        self.lambda_line.setPos(report.lambda_max)
        self.status.setText(f"The Hessian at {self.point_text()}: {report.size} parameters, exact Hessian-vector "
                            f"products, Lanczos with {report.iterations} steps (seeded). Where the cut passes through "
                            "this point, the curvature along it is at most lambda_max (equal only along the top "
                            "eigenvector); elsewhere on the cut the Hessian is another one.")

    def _race_across_the_bound(self):
        try:
            self.state.labs.race_across_the_stability_bound()
        except HillwalkError as error:
            self.state.error.emit(str(error))
            return
        self.state.set_race(in_plane=False)   # the bound is for the whole parameter space
