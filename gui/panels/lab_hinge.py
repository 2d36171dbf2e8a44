"""Piecewise-linear anatomy of the SVM loss: hinge terms one by one."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

from ..figures import PALETTE, name_in_legend
from .lab_base import LabPanel

# Ten qualitative colours that stay apart on white (Tableau 10): digits and CIFAR-10 have
# nine hinge terms per example, more than the optimizers' palette holds.
TERM_COLORS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
               "#9C755F", "#BAB0AC")


def term_colors(count: int) -> list:
    """``count`` distinct colours: Tableau 10, or evenly spaced hues beyond ten."""
    if count <= len(TERM_COLORS):
        return list(TERM_COLORS[:count])
    return [pg.intColor(k, hues=count, values=1, maxValue=210).name() for k in range(count)]


class HingeAnatomyLab(LabPanel):
    """Left: one example's SVM loss along the cut, each hinge term drawn and their sum.
    Right: the notes' toy problem (three 1-D points, three classes) against one weight.
    The legends sit below the plots, so they never cover a curve. A button switches the
    main slice between this example and the data-set mean."""

    lab = "hinge"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QVBoxLayout(self.body)
        top = QtWidgets.QHBoxLayout()
        self.example = QtWidgets.QSpinBox()
        self.example.setKeyboardTracking(False)   # (computed when typing ends: not for each digit on the way)
        self.example.setObjectName("hingeExample")
        self.example.setRange(0, 10 ** 6)
        self.example.setToolTip("The training example whose hinge terms are drawn")
        self.toggle = QtWidgets.QPushButton("Show this example on the 2-D slice")
        self.toggle.setObjectName("hingeToggle")
        self.toggle.setToolTip("Switch the main slice between this example's loss and the data-set mean")
        self.weight = QtWidgets.QComboBox()
        for row in range(3):
            for column, name in enumerate(("w", "b")):
                self.weight.addItem(f"W[{row}, {name}]", (row, column))
        self.weight.setToolTip("The toy problem's weight on the horizontal axis")
        for widget in (QtWidgets.QLabel("Example"), self.example, self.toggle, QtWidgets.QLabel("Toy weight"),
                       self.weight):
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.status)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.cut_plot = self.graphics.addPlot(row=0, col=0, title="one example along the cut")
        self.toy_plot = self.graphics.addPlot(row=0, col=1, title="toy: 3 points, 3 classes (each term / 3)")
        self.legends = {}
        self.curves = {}   # plot -> its curves, in the legend's order (see _draw)
        self.term_curves = []   # the cut plot's hinge terms' curves
        for column, (plot, label) in enumerate(((self.cut_plot, "s: position along the cut"),
                                                (self.toy_plot, "the chosen weight"))):
            plot.setLabel("bottom", label, color="k")
            plot.setLabel("left", "SVM loss", color="k")
            plot.getAxis("left").enableAutoSIPrefix(False)
            legend = pg.LegendItem(labelTextColor="k", colCount=2)
            self.graphics.addItem(legend, row=1, col=column)
            self.legends[plot] = legend
            self.curves[plot] = []
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        layout.addWidget(self.graphics, 1)
        self.example.valueChanged.connect(self.refresh)
        self.weight.currentIndexChanged.connect(self.refresh)
        self.toggle.clicked.connect(self.toggle_slice)
        state.slice_changed.connect(self._sync_toggle)

    def settings(self):
        row, column = self.weight.currentData()
        return {"example": self.example.value(), "toy_row": row, "toy_column": column}

    def _sync_toggle(self):
        showing = self.state.slice.component.startswith("example")
        self.toggle.setText("Show the data-set mean on the 2-D slice" if showing else
                            "Show this example on the 2-D slice")

    def toggle_slice(self):
        showing = self.state.slice.component.startswith("example")
        self.state.set_slice(component="data" if showing else f"example:{self.example.value()}")

    def _draw(self, plot, curves):
        """Show ``curves`` ((x, y, colour, width, legend name), in order) in ``plot``, each in
        a curve of the plot's made once and kept (made anew for each result, the two plots'
        20-odd curves and legend rows held the GUI thread about 35 ms); returns the curves."""
        pool, legend = self.curves[plot], self.legends[plot]
        while len(pool) > len(curves):   # (an example with fewer active terms)
            item = pool.pop()
            legend.removeItem(item)
            plot.removeItem(item)
        while len(pool) < len(curves):
            pool.append(plot.plot())
        for item, (x, y, color, width, name) in zip(pool, curves):
            pen = item.opts["pen"]
            if not isinstance(pen, QtGui.QPen) or pen.color() != pg.mkColor(color) or pen.widthF() != width:
                item.setPen(pg.mkPen(color, width=width))
            item.setData(x, y)
            item.setVisible(True)   # (a curve hidden from the legend shows another term now)
            name_in_legend(legend, item, name)
        return list(pool)

    def show_result(self, anatomy):
        self.example.blockSignals(True)
        self.example.setMaximum(anatomy.n_train - 1)
        self.example.blockSignals(False)
        colors = term_colors(len(anatomy.classes))
        cut = [(anatomy.alphas, term, color, 1.5, f"max(0, s{j}−s{anatomy.label}+δ)")
               for color, j, term in zip(colors, anatomy.classes, anatomy.terms) if np.any(term > 0)]
        cut.append((anatomy.alphas, anatomy.total, "k", 3, "sum: the loss"))
        self.term_curves = self._draw(self.cut_plot, cut)[:-1]
        # (each term over the 3 points: the terms then add up to the loss, their mean;
        # the legend says so, or a term read a third of its value)
        toy = [(anatomy.weights, term, PALETTE[k % len(PALETTE)], 1.5, f"point {i}, class {j}, / 3")
               for k, ((i, j), term) in enumerate(anatomy.toy_terms.items())]
        toy.append((anatomy.weights, anatomy.toy_total, "k", 3, "sum: the mean loss"))
        self._draw(self.toy_plot, toy)
        active = int(np.sum(np.any(anatomy.terms > 0, axis=1)))
        self.status.setText(f"Example {anatomy.example} (class {anatomy.label}), along the cut's direction through "
                            f"the slice's centre, widened to s in [{anatomy.alphas[0]:.3g}, {anatomy.alphas[-1]:.3g}] "
                            f"to hold every kink: {active} of {len(anatomy.classes)} hinge terms are active somewhere; "
                            "each is zero on one side of its kink and linear on the other, so their sum is piecewise "
                            "linear. Averaged over many examples the kinks blur into a bowl.")
        self._sync_toggle()
