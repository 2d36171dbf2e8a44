"""SVM and softmax side by side on the same plane, with linked cursors."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from ..contours import TracedContours, no_lines
from ..figures import LandscapeFigure
from .lab_base import LabPanel


class LossComparisonLab(LabPanel):
    """The same plane (the slice's centre and directions) under both losses, on the same
    data and regularization; the mouse over either shows the same (a, b) on both."""

    lab = "compare"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        top = QtWidgets.QHBoxLayout()
        self.shared_levels = QtWidgets.QCheckBox("one colour scale for both")
        self.shared_levels.setObjectName("sharedLevels")
        self.shared_levels.setToolTip("Use the same colour levels on both maps (the losses differ in size)")
        self.readout = QtWidgets.QLabel("")
        self.readout.setObjectName("compareReadout")
        top.addWidget(self.shared_levels)
        top.addWidget(self.readout, 1)
        layout.addLayout(top)
        layout.addWidget(self.status)
        row = QtWidgets.QHBoxLayout()
        self.figures = {"svm": LandscapeFigure(), "softmax": LandscapeFigure()}
        self.crosshairs = {}
        for name, figure in self.figures.items():
            row.addWidget(figure)
            lines = (pg.InfiniteLine(angle=90, pen=pg.mkPen("k")), pg.InfiniteLine(angle=0, pen=pg.mkPen("k")))
            for line in lines:
                line.setZValue(40)
                line.setVisible(False)
                figure.plot.addItem(line, ignoreBounds=True)
            self.crosshairs[name] = lines
            figure.scene().sigMouseMoved.connect(lambda pos, figure=figure: self._on_mouse(figure, pos))
        layout.addLayout(row, 1)
        self.shared_levels.toggled.connect(lambda: self.result is not None and self.show_result(self.result))
        state.view_changed.connect(lambda: self.result is not None and self.show_result(self.result))
        self.traced = TracedContours()   # the lines drawn, traced in a worker
        state.figure_contours_ready.connect(self._on_contours_ready)

    def show_result(self, comparison):
        if comparison is None:
            return
        results = comparison.landscapes
        view = self.state.view
        missing = {}
        for name, landscape in results.items():
            # lines traced for this very landscape and view are kept; others are asked of a
            # worker (the lab's grid is the main slice's, up to 2001 x 2001)
            lines = self.traced.lines_for(name, landscape, view)
            if lines is None:
                missing[name] = landscape
            self.figures[name].show_landscape(landscape, colormap=view.colormap, log_scale=view.log_scale,
                                              contours=view.contours, title=f"{name} {landscape.component}",
                                              lines=no_lines() if lines is None else lines, narrow=True)
        if missing:
            self.state.request_figure_contours(self.lab, missing)
        if self.shared_levels.isChecked():
            levels = [self.figures[name].colorbar.levels() for name in results]
            low, high = min(level[0] for level in levels), max(level[1] for level in levels)
            for figure in self.figures.values():
                figure.colorbar.setLevels((low, high))
        self.status.setText("The same plane under both losses: the SVM's piecewise-linear bowl with kinks, the "
                            "softmax's smooth one.")

    def _on_contours_ready(self, owner, traced):
        if owner != self.lab or self.result is None:
            return
        for name, lines in self.traced.accept(traced, self.result.landscapes, self.state.view).items():
            self.figures[name].show_contours(lines)

    def values_at(self, a, b):
        out = {}
        for name, landscape in (self.result.landscapes if self.result is not None else {}).items():
            i = int(np.argmin(np.abs(landscape.alphas - a)))
            j = int(np.argmin(np.abs(landscape.betas - b)))
            out[name] = float(landscape.values[j, i])
        return out

    def _on_mouse(self, figure, scene_pos):
        view_box = figure.plot.vb
        if not view_box.sceneBoundingRect().contains(scene_pos):
            return
        point = view_box.mapSceneToView(scene_pos)
        self.show_cursor(point.x(), point.y())

    def show_cursor(self, a, b):
        """Put both crosshairs at (a, b) and show both values."""
        for vertical, horizontal in self.crosshairs.values():
            vertical.setPos(a)
            horizontal.setPos(b)
            vertical.setVisible(True)
            horizontal.setVisible(True)
        values = self.values_at(a, b)
        self.readout.setText(f"a = {a:.4g}, b = {b:.4g}: " + ", ".join(f"{k} {v:.5g}" for k, v in values.items()))
