"""Optimizers panel: the methods of the race and their settings, and the race's shared
settings (steps, seed, start, in-plane mode)."""
from __future__ import annotations

from dataclasses import replace

from PyQt6 import QtCore, QtGui, QtWidgets

from hillwalk.core.curvature import MAX_FULL_HESSIAN
from hillwalk.core.errors import HillwalkError
from hillwalk.core.optimization.optimizers import (
    METHOD_INFO,
    NOTES_MOMENTA,
    OptimizerSpec,
    Schedule,
    methods_using,
)

from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    ScientificSpinBox,
    bind_range,
    combo,
    labelled_row,
    select_data,
    set_applicable,
    set_quietly,
)

# Settings a user chooses for the race as a whole rather than per method: kept when the
# method changes (the others follow the new method's defaults unless the user changed them).
KEPT_ACROSS_METHODS = ("lr", "schedule", "batch_size")
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
        self.method = combo([(info.label, info.method) for info in METHOD_INFO.values()])
        self.method.setObjectName("methodCombo")
        labelled_row(form, "Method", self.method, "Update rule (as defined by torch.optim)")
        self.lr = ScientificSpinBox(1e-8, 1e4, 1e-3)
        self.lr.setObjectName("lrSpin")
        bind_range(self.lr, "optimizer.lr", state.refuse_value)
        labelled_row(form, "Learning rate", self.lr, "Step size; for the random searches the scale of the candidates")
        self.momentum = RangeDoubleSpinBox()
        self.momentum.setSingleStep(0.05)
        self.momentum.setDecimals(3)
        bind_range(self.momentum, "optimizer.momentum", state.refuse_value)
        labelled_row(form, "Momentum mu", self.momentum, "Momentum of SGD/Nesterov (0.9 is typical)")
        self.momentum_choices = _button_row(
            [(f"{value:g}", f"momentum{value:g}", lambda _=False, value=value: self.momentum.setValue(value))
             for value in NOTES_MOMENTA])
        labelled_row(form, "the notes' mu", self.momentum_choices, "The momentum values the notes cross-validate: "
                     "0.5 at first, then 0.9, up to 0.99")
        self.alpha = RangeDoubleSpinBox()
        self.alpha.setDecimals(4)
        self.alpha.setSingleStep(0.01)
        bind_range(self.alpha, "optimizer.alpha", state.refuse_value)
        labelled_row(form, "RMSProp decay", self.alpha, "Decay of RMSProp's squared-gradient average (0.99)")
        self.beta1 = RangeDoubleSpinBox()
        self.beta1.setDecimals(4)
        bind_range(self.beta1, "optimizer.beta1", state.refuse_value)
        labelled_row(form, "Adam beta1", self.beta1, "Decay of Adam's gradient average (0.9)")
        self.beta2 = RangeDoubleSpinBox()
        self.beta2.setDecimals(5)
        bind_range(self.beta2, "optimizer.beta2", state.refuse_value)
        labelled_row(form, "Adam beta2", self.beta2, "Decay of Adam's squared-gradient average (0.999)")
        self.eps = ScientificSpinBox(1e-16, 1.0, 1e-8)
        bind_range(self.eps, "optimizer.eps", state.refuse_value)
        labelled_row(form, "eps", self.eps, "Added to the denominator of AdaGrad, RMSProp and Adam")
        self.default_styles = _button_row(
            [(text, name, lambda _=False, style=style: self._use_defaults(style))
             for text, name, style in (("torch", "torchDefaults", "torch"), ("the notes'", "notesDefaults", "notes"))])
        self.torch_defaults, self.notes_defaults = self.default_styles.findChildren(QtWidgets.QPushButton)
        labelled_row(form, "Defaults", self.default_styles, "eps and Adam's beta2 as torch has them (eps 1e-8, "
                     "AdaGrad 1e-10; beta2 0.999) or as the notes' code has them (eps 1e-7, beta2 0.99)")
        self.bias_correction = QtWidgets.QCheckBox("bias correction")
        self.bias_correction.setObjectName("biasCorrectionCheck")
        labelled_row(form, "Adam", self.bias_correction, "Divide m and v by (1 - beta^t): without it (the notes' "
                     "first form) m and v start at 0 and the first steps are (1 - beta1) / sqrt(1 - beta2) times "
                     "as long")
        self.schedule = combo(SCHEDULES)
        labelled_row(form, "LR schedule", self.schedule, "step: lr*gamma^(t//every); exponential: lr*exp(-k t); "
                     "1/t: lr/(1 + k t)")
        self.schedule_unit = combo([("steps (updates)", "steps"), ("epochs (passes over the data)", "epochs")])
        self.schedule_unit.setObjectName("scheduleUnit")
        labelled_row(form, "counted in", self.schedule_unit, "What t counts in the schedule: updates, or epochs as "
                     "the notes count them (an epoch is ceil(n / batch size) updates; one for the full batch)")
        self.gamma = RangeDoubleSpinBox()
        self.gamma.setSingleStep(0.05)
        bind_range(self.gamma, "schedule.gamma", state.refuse_value)
        labelled_row(form, "gamma", self.gamma, "Step decay factor")
        self.every = RangeSpinBox()
        bind_range(self.every, "schedule.every", state.refuse_value)
        labelled_row(form, "every", self.every, "Steps (or epochs) between step decays")
        self.k = ScientificSpinBox(1e-8, 10.0, 1e-3, allow_zero=True)
        bind_range(self.k, "schedule.k", state.refuse_value)
        labelled_row(form, "k", self.k, "Rate of the exponential and 1/t decays")
        self.batch = QtWidgets.QSpinBox()
        self.batch.setObjectName("batchSpin")
        self.batch.setRange(0, 10 ** 6)   # core.limits' optimizer.batch_size (0: the full batch)
        self.batch.setSpecialValueText("full batch")
        labelled_row(form, "Batch size", self.batch, "Examples per gradient (full batch = gradient descent)")
        self.damping = ScientificSpinBox(1e-12, 1e12, 1e-3, allow_zero=True)
        self.damping.setObjectName("dampingSpin")
        bind_range(self.damping, "optimizer.damping", state.refuse_value)
        labelled_row(form, "Newton damping", self.damping, "mu in (H + mu I) p = -g: 0 takes the pure Newton step (one "
                     "step to a quadratic's minimum); it grows by itself where H is not positive definite")
        self.saddle_free = QtWidgets.QCheckBox("saddle-free (|H|)")
        self.saddle_free.setObjectName("saddleFreeCheck")
        labelled_row(form, "Newton", self.saddle_free, "Use the absolute values of the Hessian's eigenvalues, so "
                     "that negative curvature is descended, not climbed (Dauphin et al. 2014); forms the full "
                     f"Hessian: at most {MAX_FULL_HESSIAN} parameters")
        self.history = RangeSpinBox()
        self.history.setObjectName("historySpin")
        bind_range(self.history, "optimizer.history", state.refuse_value)
        labelled_row(form, "L-BFGS history", self.history, "Pairs (s, y) of steps and gradient changes L-BFGS keeps "
                     "to approximate the inverse Hessian")
        layout.addWidget(editor)

        shared = QtWidgets.QGroupBox("Race")
        shared_form = QtWidgets.QFormLayout(shared)
        self.steps = RangeSpinBox()
        self.steps.setObjectName("stepsSpin")
        bind_range(self.steps, "race.steps", state.refuse_value)
        labelled_row(shared_form, "Steps", self.steps, "Updates each method makes")
        self.seed = RangeSpinBox()
        bind_range(self.seed, "race.seed", state.refuse_value)
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
                         self.bias_correction, self.schedule, self.schedule_unit, self.gamma, self.every, self.k,
                         self.batch,
                         self.damping, self.saddle_free, self.history)
        self._sync_list()
        self._sync_race()
        self.list.currentRowChanged.connect(self._sync_editor)
        self.list.itemChanged.connect(self._on_item_changed)
        self.add_button.clicked.connect(self._on_add)
        self.remove_button.clicked.connect(self._on_remove)
        self.color_button.clicked.connect(self._on_color)
        for widget in self._editors:
            signal = (widget.currentIndexChanged if isinstance(widget, QtWidgets.QComboBox) else
                      widget.toggled if isinstance(widget, QtWidgets.QCheckBox) else widget.valueChanged)
            signal.connect(self._on_editor_changed)
        self.steps.valueChanged.connect(lambda v: state.set_race(steps=v))
        self.seed.valueChanged.connect(lambda v: state.set_race(seed=v))
        self.in_plane.toggled.connect(lambda on: state.set_race(in_plane=on))
        state.optimizers_changed.connect(self._sync_list)
        state.optimizers_changed.connect(self._sync_race)  # the race seed matters only to some methods
        state.race_changed.connect(self._sync_race)
        state.race_changed.connect(self._sync_editor)   # in the plane or not: saddle-free Newton's size
        state.objective_ready.connect(self._sync_list)
        state.objective_ready.connect(self._sync_race)
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
            item = QtWidgets.QListWidgetItem(_describe(entry.spec, self._minibatches()))
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

    def _minibatches(self) -> bool:
        objective = self.state.objective
        return objective is None or objective.supports_minibatches

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
        self.remove_button.setEnabled(entry is not None)
        self.color_button.setEnabled(entry is not None)
        if entry is None:
            for widget in (*self._editors, self.momentum_choices, self.default_styles):
                set_applicable(widget, False, "select a method in the list above")
            return
        spec = entry.spec
        for widget, value in ((self.lr, spec.lr), (self.momentum, spec.effective_momentum), (self.alpha, spec.alpha),
                              (self.beta1, spec.beta1), (self.beta2, spec.beta2), (self.eps, spec.effective_eps),
                              (self.gamma, spec.schedule.gamma), (self.every, spec.schedule.every),
                              (self.k, spec.schedule.k), (self.batch, spec.batch_size or 0),
                              (self.damping, spec.damping), (self.history, spec.history),
                              (self.bias_correction, spec.bias_correction), (self.saddle_free, spec.saddle_free)):
            set_quietly(widget, value)
        select_data(self.method, spec.method)
        select_data(self.schedule, spec.schedule.kind)
        select_data(self.schedule_unit, spec.schedule.unit)
        self._apply_rules(spec)

    def _use_defaults(self, style):
        entry = self._selected_entry()
        if entry is not None:
            self.state.update_optimizer(entry.id, spec=entry.spec.with_defaults(style))

    def _setting_widgets(self):
        """The editor's widget of each method setting (names of optimizers.SETTINGS)."""
        return {"lr": self.lr, "momentum": self.momentum, "alpha": self.alpha, "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps, "schedule": self.schedule, "batch_size": self.batch,
                "damping": self.damping, "history": self.history, "bias_correction": self.bias_correction,
                "saddle_free": self.saddle_free}

    def _apply_rules(self, spec):
        """A setting's control only for the methods it applies to (core's method table),
        the batch size only where there are examples to sample, the schedule's
        parameters only for the schedules that use them."""
        info = spec.info
        set_applicable(self.method, True)
        for setting, widget in self._setting_widgets().items():
            set_applicable(widget, info.applies(setting), f"{info.label} does not use it (it applies to "
                           f"{', '.join(methods_using(setting))})")
        objective = self.state.objective
        if info.applies("batch_size") and objective is not None and not objective.supports_minibatches:
            set_applicable(self.batch, False, "a 2-D test function has no examples to sample: every step is "
                           "a full gradient")
        if (info.applies("saddle_free") and not spec.saddle_free and objective is not None
                and objective.size > MAX_FULL_HESSIAN and not self.state.runs_in_plane(self.state.race)):
            set_applicable(self.saddle_free, False, f"it forms the full Hessian (at most {MAX_FULL_HESSIAN} "
                           f"parameters; this model has {objective.size}): race within the plane to use it")
        set_applicable(self.momentum_choices, info.applies("momentum"), f"{info.label} has no momentum")
        uses_defaults = any(info.applies(name) for name in ("eps", "beta2"))
        set_applicable(self.default_styles, uses_defaults, f"{info.label} has no eps or beta2")
        kind = spec.schedule.kind
        one_step_epochs = spec.batch_size is None or objective is not None and not objective.supports_minibatches
        set_applicable(self.schedule_unit, info.applies("schedule") and kind != "constant" and not one_step_epochs,
                       "a constant rate counts nothing" if kind == "constant" else
                       "with the full batch an epoch is one update: steps and epochs are the same")
        set_applicable(self.gamma, kind == "step", "only the step-decay schedule uses gamma")
        set_applicable(self.every, kind == "step", "only the step-decay schedule decays every few steps")
        set_applicable(self.k, kind in ("exp", "inv"), "only the exponential and 1/t schedules use k")

    def _on_editor_changed(self):
        entry = self._selected_entry()
        if entry is None:
            return
        old, new = entry.spec.info, METHOD_INFO[self.method.currentData()]
        try:
            schedule = Schedule(self.schedule.currentData(), self.gamma.value(), self.every.value(), self.k.value(),
                                self.schedule_unit.currentData())
        except HillwalkError as error:
            self.state.error.emit(str(error))
            self._sync_editor()
            return
        shown = {"lr": self.lr.value(), "momentum": self.momentum.value(), "alpha": self.alpha.value(),
                 "beta1": self.beta1.value(), "beta2": self.beta2.value(), "eps": self.eps.value(),
                 "schedule": schedule, "batch_size": self.batch.value() or None, "damping": self.damping.value(),
                 "history": self.history.value(), "bias_correction": self.bias_correction.isChecked(),
                 "saddle_free": self.saddle_free.isChecked()}
        effective = {"momentum": entry.spec.effective_momentum, "eps": entry.spec.effective_eps}
        changes = {}
        for setting, value in shown.items():
            before = effective.get(setting, getattr(entry.spec, setting))
            if not old.applies(setting) and not new.applies(setting) or value == before:
                continue  # untouched (momentum and eps may be None: "the method's default")
            changes[setting] = value
        if new is not old:
            changes["method"] = new.method
            # a switch the new method has no use for goes back to its default (a leftover
            # saddle-free or uncorrected flag would still be refused or saved later)
            for flag in ("saddle_free", "bias_correction"):
                if not new.applies(flag):
                    changes[flag] = OptimizerSpec.__dataclass_fields__[flag].default
            # settings the user left at the old method's default follow the new method's
            # a learning rate is no scale of a random W: kept only between methods of one kind
            other_kind = new.uses_gradient != old.uses_gradient
            kept = ("schedule", "batch_size") if other_kind else KEPT_ACROSS_METHODS
            for setting, default in new.defaults.items():
                if setting in kept or setting in changes and not (other_kind and setting == "lr"):
                    continue
                at_old_default = old.applies(setting) and \
                    effective.get(setting, getattr(entry.spec, setting)) == old.defaults[setting]
                if other_kind and setting == "lr" or not old.applies(setting) or at_old_default:
                    changes[setting] = None if setting in ("momentum", "eps") else default
        try:
            spec = replace(entry.spec, **changes)
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
        objective = self.state.objective
        set_applicable(self.in_plane, objective is None or not objective.has_own_plane,
                       "a 2-D function's paths already lie in its plane (x, y)")
        set_applicable(self.seed, objective is None or objective.supports_minibatches
                       or any(not e.spec.uses_gradient for e in self.state.optimizers),
                       "nothing is random here: a 2-D function has no minibatches to draw and no method searches "
                       "at random")


def _button_row(buttons):
    """A row of push buttons [(text, object name, slot)] for one form row; each may shrink
    to a narrow width (the dock is as wide as its widest row)."""
    row = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for text, name, slot in buttons:
        button = QtWidgets.QPushButton(text)
        button.setObjectName(name)
        button.setMinimumWidth(36)
        button.clicked.connect(slot)
        layout.addWidget(button)
    return row


def _describe(spec: OptimizerSpec, minibatches: bool = True) -> str:
    """The list's line for a method; the batch only where there are examples to sample (a
    2-D function has none: every line said "full batch")."""
    batch = "" if not minibatches else ", full batch" if spec.batch_size is None else f", batch {spec.batch_size}"
    name = spec.name_on(minibatches)
    if spec.info.second_order:   # no learning rate
        return f"{name}{batch}"
    return f"{name}, lr {spec.lr:g}{batch}" if spec.uses_gradient else f"{name}, scale {spec.lr:g}"
