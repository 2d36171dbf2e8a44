"""Step-size lab: the loss after one step of size 10^k along the negative gradient."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from ..lab_state import EXPLOSION_FACTOR
from .lab_base import LabPanel


class StepSizeLab(LabPanel):
    """The notes' sweep (k = -10 .. -1, continued until the loss explodes) from the chosen
    point: a plot on log axes with the best step starred and the first exploded one
    crossed, the table of values, and a button (or a double click on a row) that gives the
    chosen step size to an optimizer as its learning rate."""

    lab = "stepsize"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QHBoxLayout(self.body)
        left = QtWidgets.QVBoxLayout()
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLogMode(True, True)
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "step size (log scale)", color="k")
        self.plot.setLabel("left", "loss after one step (log scale)", color="k")
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#0072B2", width=2), symbol="o", symbolSize=7,
                                    symbolBrush="#0072B2")
        # markers as PlotDataItems: they follow the plot's log mode like the curve
        self.best = self.plot.plot([], [], pen=None, symbol="star", symbolSize=20, symbolBrush="#E69F00",
                                   symbolPen="k")
        self.exploded = self.plot.plot([], [], pen=None, symbol="x", symbolSize=16, symbolBrush="#D55E00",
                                       symbolPen=pg.mkPen("#D55E00", width=2))
        self.start_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#555", style=QtCore.Qt.PenStyle.DashLine),
                                          label="loss before the step", labelOpts={"position": 0.15, "color": "k"})
        self.plot.addItem(self.start_line)
        self.explosion_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#D55E00", style=QtCore.Qt.PenStyle.DotLine),
                                              label=f"{EXPLOSION_FACTOR:g} x the start: exploded",
                                              # from near the left edge rightwards: centred at 0.15 of
                                              # the width, its start ran under the axis at 1280 x 720
                                              labelOpts={"position": 0.02, "color": "#D55E00",
                                                         "anchors": [(0, 0), (0, 1)]})
        self.plot.addItem(self.explosion_line)
        # where gradient descent on the quadratic model starts to overshoot: 2 / lambda_max
        self.bound_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#CC79A7", width=2, style=QtCore.Qt.PenStyle.DashLine),
                                          label="2 / lambda_max", labelOpts={"position": 0.9, "color": "#CC79A7"})
        self.bound_line.setVisible(False)
        self.plot.addItem(self.bound_line)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("From:"))
        top.addWidget(self.make_point_choice())
        top.addStretch(1)
        left.addLayout(top)
        left.addWidget(self.status)
        left.addWidget(self.plot_widget, 1)
        layout.addLayout(left, 3)
        right = QtWidgets.QVBoxLayout()
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setObjectName("stepTable")
        self.table.setHorizontalHeaderLabels(["step size", "loss after the step"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("Double-click a row to use that step size as the chosen optimizer's learning rate")
        right.addWidget(self.table, 1)
        self.target = QtWidgets.QComboBox()
        self.target.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target.setMinimumContentsLength(18)
        self.target.setToolTip("The optimizer that receives the step size as its learning rate")
        right.addWidget(QtWidgets.QLabel("Send to optimizer:"))
        right.addWidget(self.target)
        self.send_button = QtWidgets.QPushButton("Use as its learning rate")
        self.send_button.setToolTip("Give the selected step size to the optimizer above as its learning rate")
        self.send_button.setObjectName("sendStepSize")
        right.addWidget(self.send_button)
        layout.addLayout(right, 2)
        self.table.cellDoubleClicked.connect(lambda row, _: self.send(row))
        self.send_button.clicked.connect(lambda: self.send(self.table.currentRow()))
        state.optimizers_changed.connect(self._sync_targets)
        self._sync_targets()

    def _sync_targets(self):
        current = self.target.currentData()
        self.target.clear()
        for entry in self.state.optimizers:
            self.target.addItem(entry.spec.name_with_rate, entry.id)
        index = self.target.findData(current)
        self.target.setCurrentIndex(max(0, index))

    def settings(self):
        return {"point": self.point.currentData()}

    def show_result(self, sweep):
        finite = np.isfinite(sweep.losses)
        # A log axis cannot show a loss of exactly 0 (an SVM whose every margin is met
        # after the step): then the loss axis is linear instead
        log_loss = bool(np.all(sweep.losses[finite] > 0) and sweep.start_loss > 0)
        self.plot.setLogMode(True, log_loss)
        self.plot.setLabel("left", "loss after one step" + (" (log scale)" if log_loss else ""), color="k")
        self.curve.setData(sweep.step_sizes[finite], sweep.losses[finite])
        self.best.setData([sweep.best_step], [sweep.losses[sweep.best_index]])
        to_axis = np.log10 if log_loss else float
        self.start_line.setValue(to_axis(sweep.start_loss))
        self.explosion_line.setValue(to_axis(max(EXPLOSION_FACTOR * sweep.start_loss, np.finfo(float).tiny)))
        exploded = sweep.exploded_index
        if exploded is not None and finite[exploded]:
            self.exploded.setData([sweep.step_sizes[exploded]], [sweep.losses[exploded]])
        else:
            self.exploded.setData([], [])
        bound = 2.0 / sweep.lambda_max if np.isfinite(sweep.lambda_max) and sweep.lambda_max > 0 else None
        self.bound_line.setVisible(bound is not None)
        if bound is not None:
            self.bound_line.setValue(np.log10(bound))   # the step axis is logarithmic
        self.table.setRowCount(sweep.exponents.size)
        for row, (exponent, loss) in enumerate(zip(sweep.exponents, sweep.losses)):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(f"1e{int(exponent)}"))
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem("overflow" if not np.isfinite(loss) else f"{loss:.6g}"))
        self.table.selectRow(sweep.best_index)
        if exploded is None:
            explosion = (f" Up to {sweep.step_sizes[-1]:g} the loss never exceeded {EXPLOSION_FACTOR:g} x its start "
                         "here.")
        else:
            value = sweep.losses[exploded]
            explosion = (f" At <b>{sweep.step_sizes[exploded]:g}</b> the step overshoots and the loss explodes ("
                         + (f"{value:.4g}, {value / sweep.start_loss:.3g} x the start" if np.isfinite(value)
                            else "it overflows") + ").")
        self.status.setText(f"From {self.point_text()} (loss {sweep.start_loss:.4g}): one step of size 10^k along the "
                            f"negative gradient. Best: <b>{sweep.best_step:g}</b> (loss {sweep.losses[sweep.best_index]:.4g})."
                            " Too small is slow but steady; too large overshoots." + explosion
                            + (f" The Hessian's lambda_max here is {sweep.lambda_max:.4g}: on the quadratic model a "
                               f"step beyond <b>2 / lambda_max = {bound:.3g}</b> overshoots (the dashed line)."
                               if bound is not None else ""))

    def send(self, row):
        """Give the step size of table row ``row`` to the target optimizer as its lr."""
        if self.result is None or not 0 <= row < self.result.step_sizes.size:
            return
        entry = self.state.entry(self.target.currentData())
        if entry is None:
            return
        step = float(self.result.step_sizes[row])
        self.state.update_optimizer(entry.id, spec=replace(entry.spec, lr=step))
        self.status.setText(self.status.text().split(" Sent")[0] + f" Sent lr {step:g} to {entry.spec.display_name}.")
