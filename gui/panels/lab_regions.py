"""Decision regions of a 2-D data set under the current W, following the race."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

from ..figures import PALETTE, grid_transform
from .lab_base import LabPanel


class DecisionRegionsLab(LabPanel):
    """For 2-D data (spiral, blobs, xor, circles): the class each point of the plane gets
    from a chosen method's W at the animation's step (or the slice's centre), with the
    training points on top. It follows the race as it plays: each frame asks the state
    for that frame's regions, which a worker computes (the state keeps one request in
    flight and runs only the latest frame's when it lands); the panel only draws."""

    lab = "regions"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
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
        self.source.currentIndexChanged.connect(self.refresh)
        state.optimizers_changed.connect(self._sync_sources)
        state.frame_changed.connect(self._on_frame)
        self._sync_sources()

    def _sync_sources(self):
        current = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("the slice's centre", "center")
        for entry in self.state.optimizers:
            if entry.enabled:
                self.source.addItem(f"{entry.spec.name_with_rate} at the current step", entry.id)
        self.source.setCurrentIndex(max(0, self.source.findData(current)))
        self.source.blockSignals(False)

    def settings(self):
        source = self.source.currentData() or "center"
        return {"source": source, "frame": 0 if source == "center" else self.state.frame}

    def _on_frame(self, _frame):
        if self.isVisible() and self.source.currentData() not in (None, "center"):
            self.refresh()

    def show_result(self, regions):
        objective = self.state.objective
        self.classes = regions.classes
        draw_regions(self.image, self.points, (regions.xs, regions.ys, regions.classes), objective)
        source, frame = regions.tag
        who = "the slice's centre" if source == "center" else \
            f"{self.source.itemText(max(0, self.source.findData(source))).replace('the current step', f'step {frame}')}"
        self.status.setText(f"{objective.train.name}: training accuracy {100 * regions.accuracy:.1f}% for {who}. "
                            + ("A linear classifier draws straight boundaries: it cannot separate a spiral's arms."
                               if not objective.is_network else
                               f"A network with {'-'.join(map(str, objective.widths))} {objective.activation} units "
                               "bends its "
                               "boundaries around the data."))


def draw_regions(image, points, regions, objective):
    """Paint ``regions`` = (xs (nx,), ys (ny,), classes (ny, nx)) into ``image``, each class
    in a light tint of its colour, and the objective's training points over them in full
    colour (points with a non-finite coordinate are left out: they have no place)."""
    xs, ys, classes = regions
    colors = np.array([QtGui.QColor(PALETTE[k % len(PALETTE)]).getRgb()[:3] for k in range(objective.n_classes)])
    light = (0.55 * colors + 0.45 * 255).astype(np.uint8)
    image.setImage(light[classes], autoLevels=False, levels=(0, 255))
    image.setTransform(grid_transform(xs, ys))
    X, y = objective.train.X, objective.train.y
    finite = np.isfinite(X[:, :2]).all(axis=1)
    brushes = [pg.mkBrush(PALETTE[k % len(PALETTE)]) for k in range(objective.n_classes)]
    points.setData(X[finite, 0], X[finite, 1], brush=[brushes[k] for k in y[finite]])
