"""Optimizers panel: the methods of the race and their settings, and the race's shared
settings (steps, seed, start, in-plane mode)."""
from __future__ import annotations

from dataclasses import replace

from PyQt6 import QtCore, QtGui, QtWidgets

from core.errors import HillwalkError
from core.optimization.optimizers import OptimizerSpec, Schedule

from .widgets import ScientificSpinBox, combo, labelled_row, select_data, set_quietly

METHODS = [("SGD", "sgd"), ("SGD + momentum", "momentum"), ("Nesterov momentum", "nesterov"), ("AdaGrad", "adagrad"),
           ("RMSProp", "rmsprop"), ("Adam", "adam"), ("random search", "random-search"),
           ("random local search", "random-local-search")]
SCHEDULES = [("constant", "constant"), ("step decay", "step"), ("exponential decay", "exp"), ("1/t decay", "inv")]


class OptimizersPanel(QtWidgets.QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("optimizerList")
        self.list.setToolTip("The methods of the race; untick one to leave it out")
        self.list.setMaximumHeight(130)
        layout.addWidget(self.list)
        buttons = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.setObjectName("addOptimizer")
        self.add_button.setToolTip("Add a method (Adam, which you can change below)")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setObjectName("removeOptimizer")
        self.remove_button.setToolTip("Remove the selected method")
        self.color_button = QtWidgets.QPushButton("Colour…")
        self.color_button.setToolTip("Change the selected method's colour")
        for button in (self.add_button, self.remove_button, self.color_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)

        editor = QtWidgets.QGroupBox("Selected method")
        form = QtWidgets.QFormLayout(editor)
        self.method = combo(METHODS)
        self.method.setObjectName("methodCombo")
        labelled_row(form, "Method", self.method, "Update rule (as defined by torch.optim)")
        self.lr = ScientificSpinBox(1e-8, 1e4, 1e-3)
        self.lr.setObjectName("lrSpin")
        labelled_row(form, "Learning rate", self.lr, "Step size; for the random searches the scale of the candidates")
        self.momentum = QtWidgets.QDoubleSpinBox()
        self.momentum.setRange(0.0, 0.999)
        self.momentum.setSingleStep(0.05)
        self.momentum.setDecimals(3)
        labelled_row(form, "Momentum mu", self.momentum, "Momentum of SGD/Nesterov (0.9 is typical)")
        self.alpha = QtWidgets.QDoubleSpinBox()
        self.alpha.setRange(0.0, 0.9999)
        self.alpha.setDecimals(4)
        self.alpha.setSingleStep(0.01)
        labelled_row(form, "RMSProp decay", self.alpha, "Decay of RMSProp's squared-gradient average (0.99)")
        self.beta1 = QtWidgets.QDoubleSpinBox()
        self.beta1.setRange(0.0, 0.9999)
        self.beta1.setDecimals(4)
        labelled_row(form, "Adam beta1", self.beta1, "Decay of Adam's gradient average (0.9)")
        self.beta2 = QtWidgets.QDoubleSpinBox()
        self.beta2.setRange(0.0, 0.99999)
        self.beta2.setDecimals(5)
        labelled_row(form, "Adam beta2", self.beta2, "Decay of Adam's squared-gradient average (0.999)")
        self.eps = ScientificSpinBox(1e-16, 1.0, 1e-8)
        labelled_row(form, "eps", self.eps, "Added to the denominator of AdaGrad, RMSProp and Adam")
        self.schedule = combo(SCHEDULES)
        labelled_row(form, "LR schedule", self.schedule, "step: lr*gamma^(t//every); exponential: lr*exp(-k t); "
                     "1/t: lr/(1 + k t)")
        self.gamma = QtWidgets.QDoubleSpinBox()
        self.gamma.setRange(0.01, 1.0)
        self.gamma.setSingleStep(0.05)
        labelled_row(form, "gamma", self.gamma, "Step decay factor")
        self.every = QtWidgets.QSpinBox()
        self.every.setRange(1, 100000)
        labelled_row(form, "every", self.every, "Steps between step decays")
        self.k = ScientificSpinBox(1e-8, 10.0, 1e-3, allow_zero=True)
        labelled_row(form, "k", self.k, "Rate of the exponential and 1/t decays")
        self.batch = QtWidgets.QSpinBox()
        self.batch.setObjectName("batchSpin")
        self.batch.setRange(0, 100000)
        self.batch.setSpecialValueText("full batch")
        labelled_row(form, "Batch size", self.batch, "Examples per gradient (full batch = gradient descent)")
        layout.addWidget(editor)

        shared = QtWidgets.QGroupBox("Race")
        shared_form = QtWidgets.QFormLayout(shared)
        self.steps = QtWidgets.QSpinBox()
        self.steps.setObjectName("stepsSpin")
        self.steps.setRange(1, 100000)
        labelled_row(shared_form, "Steps", self.steps, "Updates each method makes")
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        labelled_row(shared_form, "Seed", self.seed, "Seed of the minibatch sequence, shared by every method (fair race)")
        self.in_plane = QtWidgets.QCheckBox("optimize within the plane only")
        self.in_plane.setObjectName("inPlaneCheck")
        self.in_plane.setToolTip("Optimize over (a, b) only, so every path lies exactly on the slice")
        shared_form.addRow(self.in_plane)
        self.start_label = QtWidgets.QLabel("")
        self.start_label.setObjectName("startLabel")
        self.start_label.setToolTip("Click on the heatmap to move the common start of the race")
        shared_form.addRow("Start", self.start_label)
        layout.addWidget(shared)
        layout.addStretch(1)

        self._editors = (self.method, self.lr, self.momentum, self.alpha, self.beta1, self.beta2, self.eps,
                         self.schedule, self.gamma, self.every, self.k, self.batch)
        self._sync_list()
        self._sync_race()
        self.list.currentRowChanged.connect(self._sync_editor)
        self.list.itemChanged.connect(self._on_item_changed)
        self.add_button.clicked.connect(self._on_add)
        self.remove_button.clicked.connect(self._on_remove)
        self.color_button.clicked.connect(self._on_color)
        for widget in self._editors:
            signal = widget.currentIndexChanged if isinstance(widget, QtWidgets.QComboBox) else widget.valueChanged
            signal.connect(self._on_editor_changed)
        self.steps.valueChanged.connect(lambda v: state.set_race(steps=v))
        self.seed.valueChanged.connect(lambda v: state.set_race(seed=v))
        self.in_plane.toggled.connect(lambda on: state.set_race(in_plane=on))
        state.optimizers_changed.connect(self._sync_list)
        state.race_changed.connect(self._sync_race)
        if self.list.count():
            self.list.setCurrentRow(0)

    # ----------------------------------------------------------------- list
    def _selected_entry(self):
        item = self.list.currentItem()
        return None if item is None else self.state.entry(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _sync_list(self):
        current = self._selected_entry()
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.state.optimizers:
            item = QtWidgets.QListWidgetItem(_describe(entry.spec))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, entry.id)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Checked if entry.enabled else QtCore.Qt.CheckState.Unchecked)
            pixmap = QtGui.QPixmap(14, 14)
            pixmap.fill(QtGui.QColor(entry.color))
            item.setIcon(QtGui.QIcon(pixmap))
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = [e.id for e in self.state.optimizers]
        if current is not None and current.id in ids:
            self.list.setCurrentRow(ids.index(current.id))
        elif ids:
            self.list.setCurrentRow(min(len(ids) - 1, max(0, self.list.currentRow())))
        self._sync_editor()

    def _on_item_changed(self, item):
        entry_id = item.data(QtCore.Qt.ItemDataRole.UserRole)
        self.state.update_optimizer(entry_id, enabled=item.checkState() == QtCore.Qt.CheckState.Checked)

    def _on_add(self):
        self.state.add_optimizer()
        self.list.setCurrentRow(self.list.count() - 1)

    def _on_remove(self):
        entry = self._selected_entry()
        if entry is not None:
            self.state.remove_optimizer(entry.id)

    def _on_color(self):
        entry = self._selected_entry()
        if entry is None:
            return
        color = QtWidgets.QColorDialog.getColor(QtGui.QColor(entry.color), self, "Colour of the path")
        if color.isValid():
            self.state.update_optimizer(entry.id, color=color.name())

    # ----------------------------------------------------------------- editor
    def _sync_editor(self):
        entry = self._selected_entry()
        for widget in self._editors:
            widget.setEnabled(entry is not None)
        self.remove_button.setEnabled(entry is not None)
        self.color_button.setEnabled(entry is not None)
        if entry is None:
            return
        spec = entry.spec
        for widget, value in ((self.lr, spec.lr), (self.momentum, spec.effective_momentum), (self.alpha, spec.alpha),
                              (self.beta1, spec.beta1), (self.beta2, spec.beta2), (self.eps, spec.effective_eps),
                              (self.gamma, spec.schedule.gamma), (self.every, spec.schedule.every),
                              (self.k, spec.schedule.k), (self.batch, spec.batch_size or 0)):
            set_quietly(widget, value)
        select_data(self.method, spec.method)
        select_data(self.schedule, spec.schedule.kind)
        method = spec.method
        self.momentum.setEnabled(method in ("sgd", "momentum", "nesterov"))
        self.alpha.setEnabled(method == "rmsprop")
        self.beta1.setEnabled(method == "adam")
        self.beta2.setEnabled(method == "adam")
        self.eps.setEnabled(method in ("adagrad", "rmsprop", "adam"))
        self.batch.setEnabled(spec.uses_gradient)
        self.gamma.setEnabled(spec.schedule.kind == "step")
        self.every.setEnabled(spec.schedule.kind == "step")
        self.k.setEnabled(spec.schedule.kind in ("exp", "inv"))

    def _on_editor_changed(self):
        entry = self._selected_entry()
        if entry is None:
            return
        method = self.method.currentData()
        momentum = self.momentum.value()
        if method != entry.spec.method and method in ("momentum", "nesterov") and momentum == 0:
            momentum = 0.9
        try:
            schedule = Schedule(self.schedule.currentData(), self.gamma.value(), self.every.value(), self.k.value())
            spec = replace(entry.spec, method=method, lr=self.lr.value(), momentum=momentum, alpha=self.alpha.value(),
                           beta1=self.beta1.value(), beta2=self.beta2.value(), eps=self.eps.value(),
                           schedule=schedule, batch_size=self.batch.value() or None)
        except HillwalkError as error:
            self.state.error.emit(str(error))
            self._sync_editor()
            return
        self.state.update_optimizer(entry.id, spec=spec)

    def _sync_race(self):
        race = self.state.race
        set_quietly(self.steps, race.steps)
        set_quietly(self.seed, race.seed)
        set_quietly(self.in_plane, race.in_plane)
        self.start_label.setText(f"a = {race.start[0]:.3g}, b = {race.start[1]:.3g}")


def _describe(spec: OptimizerSpec) -> str:
    batch = "full batch" if spec.batch_size is None else f"batch {spec.batch_size}"
    return f"{spec.display_name}, lr {spec.lr:g}, {batch}" if spec.uses_gradient else \
        f"{spec.display_name}, scale {spec.lr:g}"
