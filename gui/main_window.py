"""The main window. For now it shows the app's name and the default data set; the
landscape, optimizer and lab panels arrive with later work."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from core.datasets import load_embedded

DEFAULT_DATASET = "digits"


def digit_montage(X, y, per_class=10, side=8):
    """Tile the first ``per_class`` images of every class: one row per class.

    Parameters
    ----------
    X : array, shape (N, side*side)
    y : int array, shape (N,)

    Returns
    -------
    array, shape (C*(side+1), per_class*(side+1)), NaN-free, gaps of 0 between tiles.
    """
    classes = np.unique(y)
    tile = side + 1
    montage = np.zeros((classes.size * tile, per_class * tile))
    for row, k in enumerate(classes):
        for col, index in enumerate(np.flatnonzero(y == k)[:per_class]):
            montage[row * tile:row * tile + side, col * tile:col * tile + side] = X[index].reshape(side, side)
    return montage


class MainWindow(QtWidgets.QMainWindow):
    """Hillwalk's main window."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Hillwalk")
        self.dataset = load_embedded(DEFAULT_DATASET)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        title = QtWidgets.QLabel("<h1>Hillwalk</h1><p>A lab for loss functions, loss landscapes and optimizers.</p>")
        title.setObjectName("titleLabel")
        layout.addWidget(title)
        self.dataset_label = QtWidgets.QLabel(self._dataset_text())
        self.dataset_label.setObjectName("datasetLabel")
        self.dataset_label.setWordWrap(True)
        layout.addWidget(self.dataset_label)

        self.sample_view = pg.GraphicsLayoutWidget()
        plot = self.sample_view.addPlot(title=f"First ten examples of each class in {self.dataset.name}")
        plot.setAspectLocked(True)
        plot.invertY(True)
        plot.hideAxis("bottom")
        plot.hideAxis("left")
        self.sample_image = pg.ImageItem(axisOrder="row-major")
        self.sample_image.setImage(digit_montage(self.dataset.X, self.dataset.y), levels=(0, 16))
        self.sample_image.setColorMap(pg.colormap.get("CET-L1"))
        plot.addItem(self.sample_image)
        layout.addWidget(self.sample_view, stretch=1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(f"Loaded {self.dataset.summary()}")

    def _dataset_text(self) -> str:
        p = self.dataset.provenance
        return (f"<b>Data set:</b> {self.dataset.summary()}<br>"
                f"<b>Source:</b> {p.get('title', '')} — {p.get('source', '')}; licence {p.get('licence', 'unknown')}")

    def sizeHint(self):
        return QtCore.QSize(1200, 800)
