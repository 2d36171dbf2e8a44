"""Step-size lab: the loss after one step of size 10^k along the negative gradient."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from core.labs.lessons import step_size_sweep

from .lab_base import LabPanel


class StepSizeLab(LabPanel):
    """The notes' sweep (k = -10 .. -1) from the slice's centre: a plot on a log axis with
    the best step marked, the table of values, and a button (or a double click on a row)
    that gives the chosen step size to an optimizer as its learning rate."""

    kind = "lab:stepsize"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        layout = QtWidgets.QHBoxLayout(self)
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
        self.best = pg.ScatterPlotItem([], [], symbol="star", size=20, brush=pg.mkBrush("#E69F00"),
                                       pen=pg.mkPen("k"))
        self.plot.addItem(self.best)
        self.start_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#555", style=QtCore.Qt.PenStyle.DashLine),
                                          label="loss before the step", labelOpts={"position": 0.15, "color": "k"})
        self.plot.addItem(self.start_line)
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
            self.target.addItem(f"{entry.spec.display_name} (lr {entry.spec.lr:g})", entry.id)
        index = self.target.findData(current)
        self.target.setCurrentIndex(max(0, index))

    def make_job(self):
        objective, theta = self.state.objective, self.current_point()

        def job(report, should_stop):
            report(0.2, "step-size sweep")
            return step_size_sweep(objective, theta)

        return job

    def show_result(self, sweep):
        finite = np.isfinite(sweep.losses) & (sweep.losses > 0)
        self.curve.setData(sweep.step_sizes[finite], sweep.losses[finite])
        self.best.setData([np.log10(sweep.best_step)], [np.log10(sweep.losses[sweep.best_index])])
        self.start_line.setValue(np.log10(sweep.start_loss) if sweep.start_loss > 0 else 0)
        self.table.setRowCount(sweep.exponents.size)
        for row, (step, loss) in enumerate(zip(sweep.step_sizes, sweep.losses)):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(f"1e{int(np.log10(step))}"))
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem("overflow" if not np.isfinite(loss) else f"{loss:.6g}"))
        self.table.selectRow(sweep.best_index)
        self.status.setText(f"From {self.point_text()} (loss {sweep.start_loss:.4g}): one step of size 10^k along the "
                            f"negative gradient. Best: <b>{sweep.best_step:g}</b> (loss {sweep.losses[sweep.best_index]:.4g})."
                            " Too small is slow but steady; too large overshoots and the loss explodes.")

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
