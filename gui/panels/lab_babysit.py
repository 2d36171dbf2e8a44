"""Babysitting lab: the CS231n notes' "babysitting the learning process" on the current
model and data (core.labs.tasks.babysit_task): the initial loss, 20 examples overfitted,
a learning-rate probe and range test, and training curves for the chosen method, rate,
batch size, epochs and schedule (counted in epochs), each step with its verdict."""
from __future__ import annotations

import html

from PyQt6 import QtCore, QtWidgets

from ..babysit_figure import BabysitFigure
from ..lab_state import BABYSIT_METHOD_LABELS, BABYSIT_METHODS, DEFAULT_SETTINGS
from ..pacing import STAGE_DELAY_MS, StagedDrawing
from .lab_base import LabPanel
from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    ScientificSpinBox,
    bind_range,
    combo,
    labelled_row,
    push_button,
    set_applicable,
)

SCHEDULE_ITEMS = [("constant", "constant"), ("step decay", "step"), ("exponential", "exp"), ("1/t", "inv")]
SCHEDULE_SETTINGS = {"gamma": ("step",), "every": ("step",), "k": ("exp", "inv")}


class BabysittingLab(LabPanel):
    lab = "babysit"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        defaults = DEFAULT_SETTINGS["babysit"]
        refuse = state.refuse_value
        layout = QtWidgets.QHBoxLayout(self.body)
        layout.setContentsMargins(4, 4, 4, 4)
        # the settings and the verdicts in a column beside the plots: a row of controls
        # above them would set the lab's (and the window's) minimum width
        column = QtWidgets.QWidget()
        side = QtWidgets.QVBoxLayout(column)
        side.setContentsMargins(0, 0, 0, 0)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.method = combo([(BABYSIT_METHOD_LABELS[m], m) for m in BABYSIT_METHODS], defaults["method"])
        self.method.setObjectName("babysitMethod")
        labelled_row(form, "Method", self.method, "The update rule of the probe, the range test and the training "
                                                  "curves")
        self.lr = bind_range(ScientificSpinBox(1e-8, 1e6, defaults["lr"]), "optimizer.lr", refuse)
        self.lr.setObjectName("babysitLr")
        labelled_row(form, "Learning rate", self.lr, "The training curves' learning rate (the schedule's lr0); the "
                                                     "probe and the range test choose their own rates")
        self.batch = RangeSpinBox()
        self.batch.setObjectName("babysitBatch")
        self.batch.setRange(0, 10 ** 6)
        self.batch.setSpecialValueText("full")
        self.batch.setValue(defaults["batch_size"])
        labelled_row(form, "Batch size", self.batch, "Examples per minibatch (0: the full batch)")
        self.epochs = bind_range(RangeSpinBox(), "babysit.epochs", refuse)
        self.epochs.setObjectName("babysitEpochs")
        self.epochs.setValue(defaults["epochs"])
        labelled_row(form, "Epochs", self.epochs, "Passes over the training data of the training curves")
        self.schedule = combo(SCHEDULE_ITEMS, defaults["schedule"])
        self.schedule.setObjectName("babysitSchedule")
        labelled_row(form, "Schedule", self.schedule, "Counted in epochs e: step decay lr0 gamma^(e // every), "
                                                      "exponential lr0 exp(-k e), 1/t lr0 / (1 + k e)")
        self.gamma = bind_range(RangeDoubleSpinBox(), "schedule.gamma", refuse)
        self.gamma.setDecimals(3)
        self.gamma.setSingleStep(0.1)
        self.gamma.setValue(defaults["gamma"])
        self.gamma.setObjectName("babysitGamma")
        labelled_row(form, "gamma", self.gamma, "Step decay: the factor applied every 'every' epochs")
        self.every = bind_range(RangeSpinBox(), "schedule.every", refuse)
        self.every.setValue(defaults["every"])
        self.every.setSuffix(" epochs")
        self.every.setObjectName("babysitEvery")
        labelled_row(form, "every", self.every, "Step decay: epochs between decays")
        self.k = bind_range(ScientificSpinBox(1e-6, 1e3, defaults["k"], allow_zero=True), "schedule.k", refuse)
        self.k.setObjectName("babysitK")
        labelled_row(form, "k", self.k, "Exponential and 1/t: the decay rate per epoch")
        self.seed = bind_range(RangeSpinBox(), "problem.seed", refuse)
        self.seed.setObjectName("babysitSeed")
        self.seed.setValue(defaults["seed"])
        labelled_row(form, "Seed", self.seed, "Seed of the start, the minibatches and the 20 examples: the same seed "
                                              "gives the same numbers")
        side.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        self.run_button = push_button("Run", "babysitRun",
                                      "Compute again with these settings (a change of a setting does it too)")
        self.cancel_button = push_button("Cancel", "babysitCancel", "Stop the computation in progress", enabled=False)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        side.addLayout(buttons)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("babysitProgress")
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        side.addWidget(self.progress)
        side.addWidget(self.status)
        self.verdicts = QtWidgets.QTextBrowser()
        self.verdicts.setObjectName("babysitVerdicts")
        side.addWidget(self.verdicts, 1)
        column.setMinimumWidth(230)

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.figure = BabysitFigure()
        split.addWidget(column)
        split.addWidget(self.figure)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([290, 900])
        split.setChildrenCollapsible(False)
        layout.addWidget(split, 1)

        self.drawing = StagedDrawing(self, STAGE_DELAY_MS)

        self._apply_schedule_kind()
        self.method.currentIndexChanged.connect(self.refresh)
        self.schedule.currentIndexChanged.connect(self._on_schedule)
        for box in (self.lr, self.batch, self.epochs, self.seed, self.gamma, self.every, self.k):
            box.valueChanged.connect(self.refresh)
        self.run_button.clicked.connect(self.refresh)
        self.cancel_button.clicked.connect(lambda: state.labs.cancel(self.lab))
        state.labs.lab_pending.connect(lambda lab: lab == self.lab and self._set_busy(True))
        state.labs.lab_cancelled.connect(self._on_cancelled)
        state.labs.lab_failed.connect(lambda lab, _: lab == self.lab and self._set_busy(False))
        state.labs.lab_unavailable.connect(lambda lab, _: lab == self.lab and self._set_busy(False))
        state.jobs.progress.connect(self._on_progress)

    # ----------------------------------------------------------------- settings
    def settings(self):
        return {"method": self.method.currentData(), "lr": float(self.lr.value()),
                "batch_size": int(self.batch.value()) or None, "epochs": int(self.epochs.value()),
                "schedule": self.schedule.currentData(), "gamma": float(self.gamma.value()),
                "every": int(self.every.value()), "k": float(self.k.value()), "seed": int(self.seed.value())}

    def _apply_schedule_kind(self):
        kind = self.schedule.currentData()
        for name, kinds in SCHEDULE_SETTINGS.items():
            applies = kind in kinds
            why = f"only the {' and '.join(kinds)} schedule{'s' if len(kinds) > 1 else ''} use{'' if len(kinds) > 1 else 's'} it"
            set_applicable(getattr(self, name), applies, why)

    def _on_schedule(self):
        self._apply_schedule_kind()
        self.refresh()

    # ----------------------------------------------------------------- progress
    def _set_busy(self, busy):
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    def _on_progress(self, kind, fraction, text):
        if kind == self.state.labs.kind(self.lab):
            self.progress.setValue(int(1000 * fraction))
            self.status.setText(text)

    def _on_cancelled(self, lab):
        if lab == self.lab:
            self._set_busy(False)
            self.status.setText("Cancelled. Change a setting or press Run to compute again.")

    # ----------------------------------------------------------------- result
    def show_result(self, report):
        self._set_busy(False)
        if report is None:
            return
        rows = []
        for title, text in report.verdicts():
            rows.append(f"<p style='margin:0 0 6px 0'><b>{html.escape(title)}</b>: {html.escape(text)}</p>")
        curves = report.curves
        rates = ", ".join(f"{rate:.3g}" for rate in curves.epoch_lr[:12]) + (" …" if curves.epoch_lr.size > 12 else "")
        rows.append(f"<p style='margin:0'><b>lr per epoch</b> ({curves.schedule.kind}): {rates}</p>")
        self.verdicts.setHtml("".join(rows))
        # a plot at a time, each painted in a turn of its own: the six plots drawn and
        # painted at once held the GUI thread 50-75 ms (their axes' ticks laid out again)
        self.drawing.start(self.figure.report_stages(report))
        batch = f"batch {curves.batch_size}" if curves.batch_size else "full batch"
        self.status.setText(f"{BABYSIT_METHOD_LABELS[curves.method]}, lr {curves.lr:g}, {batch}, {curves.epochs} "
                            f"epochs ({curves.steps_per_epoch} updates each), seed {report.settings['seed']}")
