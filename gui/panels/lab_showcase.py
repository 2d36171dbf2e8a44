"""Linear classifier against a two-layer network on the same 2-D data: each one trained,
its decision regions over the data, and its loss landscape around the trained weights,
side by side (the spiral preset's lesson)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from hillwalk.core.errors import HillwalkError

from ..figures import LandscapeFigure
from .lab_base import LabPanel
from .lab_regions import draw_regions


class LinearVsNetworkLab(LabPanel):
    lab = "showcase"
    MODELS = (("linear", "linear classifier"), ("net", "two-layer network"))

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.region_plots, self.region_images, self.region_points = {}, {}, {}
        for col, (model, title) in enumerate(self.MODELS):
            plot = self.graphics.addPlot(row=0, col=col, title=f"{title}: decision regions")
            plot.setAspectLocked(False)
            image = pg.ImageItem(axisOrder="row-major")
            points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k", width=0.5))
            plot.addItem(image)
            plot.addItem(points)
            self.region_plots[model], self.region_images[model], self.region_points[model] = plot, image, points
        layout.addWidget(self.graphics, 3)
        row = QtWidgets.QHBoxLayout()
        self.figures = {}
        for model, _title in self.MODELS:
            self.figures[model] = LandscapeFigure()
            row.addWidget(self.figures[model])
        layout.addLayout(row, 2)
        layout.addWidget(self.status)
        state.view_changed.connect(lambda: self.result is not None and self.show_result(self.result))

    def show_result(self, results):
        if results is None:
            return
        view = self.state.view
        lines = []
        for name, title in self.MODELS:
            result = results[name]
            model = result.model
            regions = result.regions
            draw_regions(self.region_images[name], self.region_points[name], (regions.xs, regions.ys, regions.classes),
                         model)
            describe = title if name == "linear" else \
                f"{'-'.join(map(str, model.widths))}-unit {model.activation} network"
            self.region_plots[name].setTitle(f"{describe}: training accuracy {100 * result.train_accuracy:.1f}%",
                                             color="k")
            self.figures[name].show_landscape(result.landscape, colormap=view.colormap, log_scale=view.log_scale,
                                              contours=view.contours,
                                              title=f"{describe}: loss landscape", narrow=True)
            val = "" if np.isnan(result.val_accuracy) else f", validation {100 * result.val_accuracy:.1f}%"
            lines.append(f"<b>{describe}</b>: loss {result.loss:.3f}, training accuracy "
                         f"{100 * result.train_accuracy:.1f}%{val}")
        self.status.setText("; ".join(lines) + ". Both trained by full-batch gradient descent from the same seed. "
                            "The linear model can only cut the plane with straight lines; the network bends its "
                            "boundaries around the arms, and its landscape (filter-normalized plane, Li et al.) is "
                            "no longer a bowl.")

    def accuracies(self):
        """{"linear": training accuracy, "net": ...} of the last result (for tests)."""
        if self.result is None:
            raise HillwalkError("no result yet")
        return {name: self.result[name].train_accuracy for name, _ in self.MODELS}
