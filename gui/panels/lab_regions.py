"""Decision regions of a 2-D data set under the current W, following the race."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

from core.errors import HillwalkError
from core.labs.lessons import decision_regions

from ..figures import PALETTE, grid_transform


class DecisionRegionsLab(QtWidgets.QWidget):
    """For 2-D data (spiral, blobs, xor, circles): the class each point of the plane gets
    from a chosen method's W at the animation's step (or the slice's centre), with the
    training points on top; it follows the race as it plays."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        self.source = QtWidgets.QComboBox()
        self.source.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(18)
        self.source.setObjectName("regionsSource")
        self.source.setToolTip("Whose W draws the regions")
        top.addWidget(QtWidgets.QLabel("W of:"))
        top.addWidget(self.source)
        top.addStretch(1)
        layout.addLayout(top)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k", width=0.5))
        self.plot.addItem(self.points)
        layout.addWidget(self.plot_widget, 1)
        self.classes = None
        self.source.currentIndexChanged.connect(self.redraw)
        state.optimizers_changed.connect(self._sync_sources)
        state.frame_changed.connect(lambda _: self.isVisible() and self.redraw())
        state.runs_updated.connect(lambda: self.isVisible() and self.redraw())
        state.plane_ready.connect(self.redraw)
        self._sync_sources()

    def _sync_sources(self):
        current = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("the slice's centre", "center")
        for entry in self.state.optimizers:
            if entry.enabled:
                self.source.addItem(f"{entry.spec.display_name} (lr {entry.spec.lr:g}) at the current step", entry.id)
        self.source.setCurrentIndex(max(0, self.source.findData(current)))
        self.source.blockSignals(False)

    def showEvent(self, event):
        super().showEvent(event)
        self.redraw()

    def current_theta(self):
        state = self.state
        choice = self.source.currentData()
        if choice in (None, "center"):
            return state.plane.center if state.plane is not None else None
        run = state.runs.get(choice)
        if run is None or run.thetas is None or run.steps.size == 0:
            return None
        row = max(0, min(int(np.searchsorted(run.steps, state.frame, side="right")) - 1, run.thetas.shape[0] - 1))
        return run.thetas[row]

    def redraw(self):
        objective = self.state.objective
        theta = self.current_theta()
        if not objective.has_data or theta is None:
            return
        try:
            xs, ys, classes = decision_regions(objective, theta, resolution=160)
        except HillwalkError as error:
            self.status.setText(f"{error}. Choose one in the Data panel.")
            self.image.clear()
            self.points.clear()
            self.classes = None
            return
        self.classes = classes
        draw_regions(self.image, self.points, (xs, ys, classes), objective)
        accuracy = objective.accuracy(theta)
        self.status.setText(f"{objective.train.name}: training accuracy {100 * accuracy:.1f}% for "
                            f"{self.source.currentText()}. "
                            + ("A linear classifier draws straight boundaries: it cannot separate a spiral's arms."
                               if not objective.is_network else
                               f"A network with {objective.hidden} {objective.activation} units bends its "
                               "boundaries around the data."))


def draw_regions(image, points, regions, objective):
    """Paint ``regions`` = (xs, ys, classes (ny, nx)) into ``image``, each class in a light
    tint of its colour, and the objective's training points over them in full colour."""
    xs, ys, classes = regions
    colors = np.array([QtGui.QColor(PALETTE[k % len(PALETTE)]).getRgb()[:3] for k in range(objective.n_classes)])
    light = (0.55 * colors + 0.45 * 255).astype(np.uint8)
    image.setImage(light[classes], autoLevels=False, levels=(0, 255))
    image.setTransform(grid_transform(xs, ys))
    X, y = objective.train.X, objective.train.y
    points.setData(X[:, 0], X[:, 1], brush=[pg.mkBrush(PALETTE[k % len(PALETTE)]) for k in y])
