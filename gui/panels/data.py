"""Data panel: which data set, its preprocessing and its split."""
from __future__ import annotations

from pathlib import Path

from PyQt6 import QtWidgets

from hillwalk.core.data.datasets import EMBEDDED_NAMES, SYNTHETIC_NAMES
from hillwalk.core.models.testfunctions import TEST_FUNCTION_NAMES

from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    bind_range,
    combo,
    labelled_row,
    select_data,
    set_applicable,
    set_quietly,
)

PREPROCESSING = [("zero-centre", "center"), ("standardize", "standardize"), ("scale to [0, 1]", "minmax"),
                 ("none", "none")]


class DataPanel(QtWidgets.QWidget):
    """Choose the data set (embedded, synthetic, or a file or CIFAR-10 folder), the
    preprocessing, the validation share, the CIFAR subsample and the data seed."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        form = QtWidgets.QFormLayout(self)
        self.objective = combo([("a classifier on data (see Model)", "classifier")]
                               + [(f"2-D function: {name}", name) for name in TEST_FUNCTION_NAMES])
        self.objective.setObjectName("objectiveCombo")
        labelled_row(form, "Minimise", self.objective, "A classifier's loss on a data set, or a classic 2-D test "
                     "function (its own x and y are the plane)")
        self.dataset = combo([(n, n) for n in EMBEDDED_NAMES] + [(f"{n} (synthetic)", n) for n in SYNTHETIC_NAMES])
        self.dataset.setObjectName("datasetCombo")
        labelled_row(form, "Data set", self.dataset, "The data the classifier is trained on: embedded real data "
                     "(digits, iris, wine), a synthetic 2-D set, or a file opened with the buttons below")
        buttons = QtWidgets.QHBoxLayout()
        self.open_file_button = QtWidgets.QPushButton("Open CSV/NPZ…")
        self.open_file_button.setToolTip("Load a CSV (numeric features, label in the last column) or an NPZ "
                                         "(arrays X and y)")
        self.open_folder_button = QtWidgets.QPushButton("Open CIFAR-10 folder…")
        self.open_folder_button.setToolTip("Load the 'cifar-10-batches-py' folder of the CIFAR-10 python version")
        buttons.addWidget(self.open_file_button)
        buttons.addWidget(self.open_folder_button)
        form.addRow(buttons)
        self.preprocessing = combo(PREPROCESSING)
        labelled_row(form, "Preprocessing", self.preprocessing, "Feature scaling fitted on the training part only")
        self.val_fraction = RangeDoubleSpinBox()
        self.val_fraction.setSingleStep(0.05)
        bind_range(self.val_fraction, "problem.val_fraction", state.refuse_value)
        labelled_row(form, "Validation share", self.val_fraction,
                     "Share of examples held out (stratified) to measure validation accuracy")
        self.subsample = QtWidgets.QSpinBox()
        self.subsample.setRange(0, 60000)
        self.subsample.setSpecialValueText("all")
        labelled_row(form, "CIFAR subsample", self.subsample, "CIFAR-10 only: use this many random images (0 = all)")
        self.seed = RangeSpinBox()
        bind_range(self.seed, "problem.seed", state.refuse_value)
        labelled_row(form, "Data seed", self.seed, "Seed of the synthetic data, the subsample and the split")
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("dataSummary")
        self.summary.setWordWrap(True)
        form.addRow(self.summary)
        self._sync()
        self.objective.currentIndexChanged.connect(lambda: state.choose_objective(self.objective.currentData()))
        self.dataset.currentIndexChanged.connect(lambda: self._apply(dataset=self.dataset.currentData()))
        self.preprocessing.currentIndexChanged.connect(lambda: self._apply(preprocessing=self.preprocessing.currentData()))
        self.val_fraction.valueChanged.connect(lambda v: self._apply(val_fraction=round(v, 4)))
        self.subsample.valueChanged.connect(lambda v: self._apply(subsample=v or None))
        self.seed.valueChanged.connect(lambda v: self._apply(seed=v))
        self.open_file_button.clicked.connect(self.choose_file)
        self.open_folder_button.clicked.connect(self.choose_folder)
        state.problem_changed.connect(self._sync)
        state.objective_ready.connect(self._show_summary)
        state.objective_ready.connect(self._apply_rules)

    def _apply(self, **changes):
        self.state.set_problem(**changes)

    def _sync(self):
        problem = self.state.problem
        path_like = problem.dataset not in EMBEDDED_NAMES + SYNTHETIC_NAMES
        if path_like and self.dataset.findData(problem.dataset) < 0:
            self.dataset.blockSignals(True)
            self.dataset.addItem(Path(problem.dataset).name, problem.dataset)
            self.dataset.blockSignals(False)
        select_data(self.objective, problem.objective)
        select_data(self.dataset, problem.dataset)
        select_data(self.preprocessing, problem.preprocessing)
        set_quietly(self.val_fraction, problem.val_fraction)
        set_quietly(self.subsample, problem.subsample or 0)
        set_quietly(self.seed, problem.seed)
        self._apply_rules()

    def _apply_rules(self):
        """Data controls only where there is data: the objective in force (or, while the
        first one loads, the settings) says whether it is a classifier on a data set."""
        objective, problem = self.state.objective, self.state.problem
        has_data = objective.has_data if objective is not None else not problem.is_function
        no_data = "a 2-D test function has no data set; choose 'a classifier on data' under Minimise"
        for widget in (self.dataset, self.preprocessing, self.val_fraction, self.open_file_button,
                       self.open_folder_button, self.seed):
            set_applicable(widget, has_data, no_data)
        set_applicable(self.subsample, has_data and Path(problem.dataset).is_dir(),
                       no_data if not has_data else "only a CIFAR-10 folder is subsampled; open one with the "
                       "button above")

    def _show_summary(self):
        objective = self.state.objective
        if not objective.has_data:
            self.summary.setText(f"{objective.name}: {objective.formula}<br><small>minima: "
                                 f"{', '.join(str(tuple(round(v, 3) for v in m)) for m in objective.minima) or 'none'}"
                                 "</small>")
            return
        steps = "; ".join(objective.train.provenance.get("steps", [])[-2:])
        self.summary.setText(f"{objective.train.summary()}<br><small>{steps}</small>")

    def choose_file(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open data", "", "Data (*.csv *.npz);;All files (*)")
        if path:
            self.open_path(path)

    def choose_folder(self):
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open the CIFAR-10 python folder")
        if path:
            self.open_path(path)

    def open_path(self, path):
        """Load a file or folder; on failure the previous data set stays (the state says why)."""
        self.state.set_problem(dataset=str(path), subsample=None, label_column=None)
