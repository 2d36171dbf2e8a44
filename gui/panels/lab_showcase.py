"""Linear classifier against a two-layer network on the same 2-D data: each one trained,
its decision regions over the data, and its loss landscape around the trained weights,
side by side (the spiral preset's lesson)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from core.landscapes.centers import train_full_batch
from core.errors import HillwalkError
from core.labs.lessons import decision_regions

from ..figures import LandscapeFigure
from .lab_base import LabPanel
from .lab_regions import draw_regions

GRID = 61  # a side-by-side pair: a coarser grid than the main slice keeps it quick


class LinearVsNetworkLab(LabPanel):
    kind = "lab:showcase"
    MODELS = (("linear", "linear classifier"), ("net", "two-layer network"))

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self)
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
        for model, title in self.MODELS:
            self.figures[model] = LandscapeFigure()
            row.addWidget(self.figures[model])
        layout.addLayout(row, 2)
        layout.addWidget(self.status)
        state.view_changed.connect(lambda: self.result is not None and self.show_result(self.result))

    def make_job(self):
        state = self.state
        objective = state.objective
        if not objective.has_data or objective.train.n_features != 2:
            self.status.setText("This comparison needs a 2-D data set: choose spiral, blobs, xor or circles in the "
                                "Data panel (or the Presets menu's spiral scene).")
            return None
        problem, spec = state.problem, state.slice
        models = {"linear": replace(problem, model="linear"), "net": replace(problem, model="net")}
        plane_spec = replace(spec, center="trained", directions="filter", grid=GRID, cut=False, component="total",
                             train_steps=max(spec.train_steps, 500))
        train, val = objective.train, objective.val

        def job(report, should_stop):
            results = {}
            for k, (name, settings) in enumerate(models.items()):
                report(0.5 * k, f"training the {name} model")
                model = settings.model_on(train, val)
                theta, _, _ = train_full_batch(model, model.initial_theta(spec.init_scale, spec.seed),
                                               plane_spec.train_steps, record=False)
                if should_stop():
                    return None
                xs, ys, classes = decision_regions(model, theta, resolution=160)
                report(0.5 * k + 0.25, f"{name} landscape")
                plane = plane_spec.plane(model, center=theta, center_label="trained")
                landscape = plane_spec.compute(model, plane, should_stop=should_stop)
                if landscape is None:
                    return None
                results[name] = {"model": model, "theta": theta, "regions": (xs, ys, classes),
                                 "landscape": landscape, "train": model.accuracy(theta),
                                 "val": model.accuracy(theta, "val"), "loss": model.loss(theta)}
            return results

        return job

    def show_result(self, results):
        if results is None:
            return
        view = self.state.view
        lines = []
        for name, title in self.MODELS:
            result = results[name]
            model = result["model"]
            draw_regions(self.region_images[name], self.region_points[name], result["regions"], model)
            describe = title if name == "linear" else \
                f"{model.hidden}-unit {model.activation} network"
            self.region_plots[name].setTitle(f"{describe}: training accuracy {100 * result['train']:.1f}%",
                                             color="k")
            self.figures[name].show_landscape(result["landscape"], colormap=view.colormap, log_scale=view.log_scale,
                                              contours=view.contours,
                                              title=f"{describe}: loss landscape", narrow=True)
            val = "" if np.isnan(result["val"]) else f", validation {100 * result['val']:.1f}%"
            lines.append(f"<b>{describe}</b>: loss {result['loss']:.3f}, training accuracy "
                         f"{100 * result['train']:.1f}%{val}")
        self.status.setText("; ".join(lines) + ". Both trained by full-batch gradient descent from the same seed. "
                            "The linear model can only cut the plane with straight lines; the network bends its "
                            "boundaries around the arms, and its landscape (filter-normalized plane, Li et al.) is "
                            "no longer a bowl.")

    def accuracies(self):
        """{"linear": training accuracy, "net": ...} of the last result (for tests)."""
        if self.result is None:
            raise HillwalkError("no result yet")
        return {name: self.result[name]["train"] for name, _ in self.MODELS}
