"""Hyperparameter search lab: grid, random or coarse-to-fine search of the learning rate and
lambda (optionally the hidden width and dropout's keep probability) on the current model
(core.labs.hyperparameter_search, run by the state in a worker with trials in worker
processes). The trials arrive as they finish: a scatter over (lr, lambda) coloured by
validation accuracy with the best marked (the notes' figure), the two one-dimensional
projections with the number of distinct values each strategy tried (why random search
beats a grid), a sortable table, and the best sent to the race in one click."""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.errors import HillwalkError

from ..lab_state import SEARCH_OPTIMIZERS, STRATEGIES, default_workers
from .lab_base import LabPanel
from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    ScientificSpinBox,
    bind_range,
    combo,
    push_button,
    set_applicable,
)

STRATEGY_TEXT = {"grid": "grid", "random": "random", "coarse-to-fine": "coarse to fine"}
METHOD_TEXT = {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
               "rmsprop": "RMSProp", "adam": "Adam"}
# the table's columns: (header, how a trial gives the value)
RESULT_COLUMNS = (("train acc", lambda t: t.train_acc), ("val acc", lambda t: t.val_acc),
                  ("final loss", lambda t: t.final_loss))
VIRIDIS = pg.colormap.get("viridis")


class _NumberDelegate(QtWidgets.QStyledItemDelegate):
    """Shows a cell's number with four significant digits (whole numbers as they are; inf,
    a diverged trial's loss, as "diverged")."""

    def displayText(self, value, locale):
        if isinstance(value, float):
            if math.isinf(value):
                return "diverged"
            return f"{value:.0f}" if value.is_integer() and abs(value) < 1e6 else f"{value:.4g}"
        return super().displayText(value, locale)


class SearchLab(LabPanel):
    lab = "search"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self._drawn_count = 0
        self._redraw_timer = QtCore.QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(33)
        self._redraw_timer.timeout.connect(self._redraw_partial)
        layout = QtWidgets.QVBoxLayout(self.body)
        layout.setSpacing(4)
        layout.addLayout(self._build_settings())
        buttons = QtWidgets.QHBoxLayout()
        self.start_button = push_button("Start", "searchStart")
        self.cancel_button = push_button("Cancel", "searchCancel", enabled=False)
        self.send_button = push_button("Best to the race", "searchSendBest",
                                       "Give the race's method of this kind (a new one if the race has none) the best "
                                       "trial's learning rate and this batch size; lambda stays the Model panel's")
        self.export_button = push_button("Export CSV…", "searchExport",
                                         "The table, one row per trial (the figures: File > Export > Current lab tab)")
        for button in (self.start_button, self.cancel_button, self.send_button, self.export_button):
            buttons.addWidget(button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("searchProgress")
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        buttons.addWidget(self.progress, 1)
        layout.addLayout(buttons)
        self.verdict = QtWidgets.QLabel("Set the budget and the ranges, then start the search.")
        self.verdict.setObjectName("searchVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)
        layout.addWidget(self.status)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self._build_plots())
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.setObjectName("searchTable")
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setItemDelegate(_NumberDelegate(self.table))
        splitter.addWidget(self.table)
        splitter.setSizes([600, 260])
        layout.addWidget(splitter, 1)
        self.start_button.clicked.connect(self._start)
        self.cancel_button.clicked.connect(lambda: self.state.labs.cancel(self.lab))
        self.send_button.clicked.connect(self._send_best)
        self.export_button.clicked.connect(self._export)
        self.hidden_check.toggled.connect(self._apply_rules)
        self.keep_check.toggled.connect(self._apply_rules)
        labs = state.labs
        labs.lab_partial.connect(self._on_partial)
        labs.lab_cancelled.connect(self._on_cancelled)
        state.jobs.progress.connect(self._on_progress)
        state.jobs.busy_changed.connect(lambda _: self._sync_buttons())
        state.objective_ready.connect(self._apply_rules)
        self._apply_rules()   # the lab may be built after the model is (its page is built when first shown)
        self._apply_rules()
        self._show_trials([])

    # ----------------------------------------------------------------- building
    def _build_settings(self):
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.strategy = combo([(STRATEGY_TEXT[s], s) for s in STRATEGIES], "random",
                              "grid: floor(sqrt(n)) values of each of two hyperparameters; random: n log-uniform "
                              "draws; coarse to fine: half random, then half within the range of the best quarter")
        self.strategy.setObjectName("searchStrategy")
        self.trials = RangeSpinBox()
        self.trials.setObjectName("searchTrials")
        bind_range(self.trials, "search.trials", self.state.refuse_value)
        self.trials.setValue(16)
        self.trials.setToolTip("The budget: how many models are trained (a grid uses the largest full grid within "
                               "it: 16 of 20 for two hyperparameters)")
        self.epochs = RangeSpinBox()
        self.epochs.setObjectName("searchEpochs")
        bind_range(self.epochs, "search.epochs", self.state.refuse_value)
        self.epochs.setValue(1)
        self.method = combo([(METHOD_TEXT[m], m) for m in SEARCH_OPTIMIZERS], "sgd", "How each trial trains")
        self.method.setObjectName("searchMethod")
        self.batch = RangeSpinBox()
        bind_range(self.batch, "optimizer.batch_size", self.state.refuse_value)
        self.batch.setValue(64)
        self.seed = RangeSpinBox()
        bind_range(self.seed, "search.seed", self.state.refuse_value)
        self.seed.setToolTip("Seeds the draws, every trial's start and its minibatches (the same for all trials)")
        self.workers = RangeSpinBox()
        self.workers.setObjectName("searchWorkers")
        bind_range(self.workers, "search.workers", self.state.refuse_value)
        self.workers.setValue(default_workers())
        self.workers.setToolTip("Worker processes training trials at once (each holds a copy of the data)")
        self.lr_low, self.lr_high = ScientificSpinBox(1e-12, 1e6, 1e-6), ScientificSpinBox(1e-12, 1e6, 1.0)
        for box in (self.lr_low, self.lr_high):
            bind_range(box, "optimizer.lr", self.state.refuse_value)
        self.lr_low.setObjectName("searchLrLow")
        self.lr_high.setObjectName("searchLrHigh")
        self.reg_low, self.reg_high = ScientificSpinBox(1e-12, 1e6, 1e-5), ScientificSpinBox(1e-12, 1e6, 10.0)
        for box in (self.reg_low, self.reg_high):
            bind_range(box, "problem.lam", self.state.refuse_value)
        self.reg_low.setObjectName("searchRegLow")
        self.reg_high.setObjectName("searchRegHigh")
        self.hidden_check = QtWidgets.QCheckBox("hidden width")
        self.hidden_check.setObjectName("searchHiddenCheck")
        self.hidden_low, self.hidden_high = RangeSpinBox(), RangeSpinBox()
        for box, value in ((self.hidden_low, 16), (self.hidden_high, 256)):
            bind_range(box, "problem.hidden", self.state.refuse_value)
            box.setValue(value)
        self.keep_check = QtWidgets.QCheckBox("keep probability")
        self.keep_check.setObjectName("searchKeepCheck")
        self.keep_low, self.keep_high = RangeDoubleSpinBox(), RangeDoubleSpinBox()
        for box, value in ((self.keep_low, 0.5), (self.keep_high, 1.0)):
            box.setDecimals(2)
            box.setSingleStep(0.05)
            bind_range(box, "problem.keep_prob", self.state.refuse_value)
            box.setValue(value)
        # four label-and-control pairs a row: fits a 1280-pixel window beside the side panels
        pairs = [("Strategy", self.strategy), ("Budget (trials)", self.trials), ("Epochs per trial", self.epochs),
                 ("Optimizer", self.method), ("Batch", self.batch), ("Seed", self.seed), ("Workers", self.workers)]
        for index, (text, widget) in enumerate(pairs):
            grid.addWidget(QtWidgets.QLabel(text), index // 4, 2 * (index % 4))
            grid.addWidget(widget, index // 4, 2 * (index % 4) + 1)
        ranges = [("Learning rate", self.lr_low, self.lr_high), ("Lambda", self.reg_low, self.reg_high),
                  (self.hidden_check, self.hidden_low, self.hidden_high),
                  (self.keep_check, self.keep_low, self.keep_high)]
        for index, (label, low, high) in enumerate(ranges):
            row, column = 2 + index // 2, 4 * (index % 2)
            grid.addWidget(label if isinstance(label, QtWidgets.QWidget) else QtWidgets.QLabel(label), row, column)
            grid.addWidget(low, row, column + 1)
            grid.addWidget(QtWidgets.QLabel("to"), row, column + 2, QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(high, row, column + 3)
        for column in (1, 3, 5, 7):
            grid.setColumnStretch(column, 1)
        # a seed box's hint is wide enough for 2^31: let the columns share the width instead
        for widget in (self.trials, self.epochs, self.batch, self.seed, self.workers, self.hidden_low,
                       self.hidden_high, self.keep_low, self.keep_high):
            widget.setMinimumWidth(52)
        for widget in (self.lr_low, self.lr_high, self.reg_low, self.reg_high):
            # typed rather than stepped: no arrows, so "1e-05" shows whole in a narrow box
            widget.setButtonSymbols(QtWidgets.QAbstractSpinBox.ButtonSymbols.NoButtons)
            widget.setMinimumWidth(56)
        return grid

    def _build_plots(self):
        holder = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        self.scatter_widget = pg.PlotWidget(background="w")
        self.scatter_plot = self.scatter_widget.getPlotItem()
        # the items hold log10 values (drawing 10000 points in log mode would transform them
        # at every change); the axes label them as powers of ten
        for axis in ("bottom", "left"):
            self.scatter_plot.getAxis(axis).setLogMode(True)
        self.scatter_plot.setTitle("the trials, coloured by validation accuracy", color="k", size="9pt")
        self.scatter_plot.setLabel("bottom", "learning rate", color="k")
        self.scatter_plot.setLabel("left", "lambda", color="k")
        self.trial_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen("k", width=0.5))
        self.diverged_points = pg.ScatterPlotItem(size=10, symbol="x", pen=pg.mkPen("#888888", width=1.5),
                                                  brush="#888888")
        self.best_point = pg.ScatterPlotItem(size=22, symbol="star", brush="#D55E00", pen=pg.mkPen("k"))
        self._brushes = [pg.mkBrush(VIRIDIS.map(level, mode="qcolor")) for level in np.linspace(0, 1, 16)]
        for item in (self.trial_points, self.diverged_points, self.best_point):
            self.scatter_plot.addItem(item)
        self.range_boxes = []
        row.addWidget(self.scatter_widget, 3)
        self.projections = {}
        for name, text in (("lr", "learning rate"), ("reg", "lambda")):
            widget = pg.PlotWidget(background="w")
            plot = widget.getPlotItem()
            plot.getAxis("bottom").setLogMode(True)   # log10 values, as the scatter's
            plot.setLabel("bottom", text, color="k")
            plot.setLabel("left", "validation accuracy", color="k")
            plot.getAxis("left").enableAutoSIPrefix(False)   # fractions, not "(x0.001)" thousandths
            points = pg.ScatterPlotItem(size=7, brush="#0072B2", pen=None)
            plot.addItem(points)
            self.projections[name] = (plot, points)
            row.addWidget(widget, 2)
        return holder

    # ----------------------------------------------------------------- settings
    def settings(self):
        objective = self.state.objective
        network = objective is not None and objective.is_network
        return {"strategy": self.strategy.currentData(), "trials": int(self.trials.value()),
                "lr": (self.lr_low.value(), self.lr_high.value()),
                "reg": (self.reg_low.value(), self.reg_high.value()),
                "hidden": (int(self.hidden_low.value()), int(self.hidden_high.value()))
                if network and self.hidden_check.isChecked() else None,
                "keep_prob": (self.keep_low.value(), self.keep_high.value())
                if network and self.keep_check.isChecked() else None,
                "epochs": int(self.epochs.value()), "method": self.method.currentData(),
                "batch_size": int(self.batch.value()), "seed": int(self.seed.value()),
                "workers": int(self.workers.value())}

    def _apply_rules(self, *_):
        objective = self.state.objective
        reason = self.state.labs.unavailable_reason(self.lab)
        if reason is not None:
            self._on_unavailable(self.lab, reason)
        else:
            self._show_available(True)
        network = objective is not None and objective.is_network
        why = "only a network has hidden units and dropout; choose Model: network"
        set_applicable(self.hidden_check, network, why)
        set_applicable(self.keep_check, network, why)
        for box in (self.hidden_low, self.hidden_high):
            set_applicable(box, network and self.hidden_check.isChecked(), why if not network else
                           "tick 'hidden width' to search it")
        for box in (self.keep_low, self.keep_high):
            set_applicable(box, network and self.keep_check.isChecked(), why if not network else
                           "tick 'keep probability' to search it")
        self._sync_buttons()

    def _sync_buttons(self):
        running = self.state.labs.busy(self.lab)
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        have = self.state.labs.has_trials()   # not a copy of 10000 trials at every redraw
        self.send_button.setEnabled(not running and self.state.labs.best_trial() is not None)
        self.export_button.setEnabled(not running and have)

    # ----------------------------------------------------------------- actions
    def _start(self):
        self.refresh()
        if self.state.labs.busy(self.lab):
            self.progress.setValue(0)
            self.progress.setFormat("starting…")
            self._show_trials([])
        self._sync_buttons()

    def _send_best(self):
        try:
            self.state.labs.send_best_to_race()
        except HillwalkError as error:
            self.state.error.emit(str(error))

    def _export(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the trials", "trials.csv", "CSV (*.csv)")
        if not path:
            return
        try:
            written = self.state.labs.export_search_csv(path)
        except HillwalkError as error:
            self.state.error.emit(str(error))
            return
        self.status.setText(f"wrote {written}")

    # ----------------------------------------------------------------- drawing
    def showEvent(self, event):
        super().showEvent(event)
        self._show_trials(self.state.labs.search_trials())
        self._sync_buttons()

    def _on_partial(self, lab, increment):
        if lab == self.lab and not self._redraw_timer.isActive():
            self._redraw_timer.start()   # at most one redraw a frame, however often trials arrive

    def _redraw_partial(self):
        if self.isVisible():
            started = time.perf_counter()
            self._show_trials(self.state.labs.search_trials(), increment=True)
            # a redraw costs O(trials): with thousands, redraw less often so that it never
            # takes more than a quarter of the GUI thread's time
            self._redraw_timer.setInterval(max(33, int(4000 * (time.perf_counter() - started))))

    def _on_progress(self, kind, fraction, text):
        if kind == self.state.labs.kind(self.lab):
            self.progress.setValue(int(round(100 * fraction)))
            self.progress.setFormat(text or "%p%")

    def _on_cancelled(self, lab):
        if lab == self.lab:
            self._redraw_timer.stop()
            self._show_trials(self.state.labs.search_trials(), increment=True)   # what arrived last
            count = len(self.state.labs.search_trials())
            self.progress.setFormat(f"cancelled: {count} trials finished")
            planned = self.state.labs.search_spec().planned_trials
            self.verdict.setText(f"Cancelled after {count} of {planned} trials; their results stay below (export "
                                 "them, or start again).")
            self._sync_buttons()

    def _on_pending(self, lab):
        if lab == self.lab:   # a new model: the old table is gone; a search starts only when asked
            self._show_available(True)
            if not self.state.labs.busy(self.lab):
                self.verdict.setText("The model or data changed: start the search again."
                             if self._drawn_count else "Set the budget and the ranges, then start the search.")
                self.progress.setValue(0)
                self.progress.setFormat("")
                self._show_trials([])
            self._sync_buttons()

    def show_result(self, result):
        if result is None:
            return
        self.progress.setValue(100)
        self.progress.setFormat(f"{len(result.trials)} trials")
        self._show_trials(result.trials, increment=True)   # the rows arrived as partials: none rebuilt
        lines = result.verdict().splitlines()
        lines += result.notes
        ranges = [", ".join(f"{k} {lo:.3g} to {hi:.3g}" for k, (lo, hi) in r.items()) for r in result.rounds]
        if len(ranges) == 2:
            lines.append(f"coarse round: {ranges[0]}; fine round (the best quarter's range): {ranges[1]}")
        self.verdict.setText("<br>".join(f"<b>{lines[0]}</b>" if i == 0 else line for i, line in enumerate(lines)))
        self.status.setText("")
        self._sync_buttons()

    def _show_trials(self, trials, increment=None):
        """Draw every trial so far (vectorized: a search may hold 10000); the table grows by
        the trials it does not show yet (``increment`` None: rebuilt)."""
        ok = np.array([t.diverged_at is None and math.isfinite(t.val_acc) for t in trials], dtype=bool)
        names = ("lr", "reg")
        values = {name: np.log10(np.array([t.values[name] for t in trials], dtype=np.float64)) for name in names}
        accuracy = np.array([t.val_acc for t in trials], dtype=np.float64)
        if ok.any():
            low, high = float(accuracy[ok].min()), float(accuracy[ok].max())
            shade = (accuracy[ok] - low) / (high - low) if high > low else np.ones(int(ok.sum()))
            # a few shared brushes (colour steps of 1/15 of the range): pyqtgraph draws each
            # distinct brush once
            levels = np.minimum((shade * len(self._brushes)).astype(int), len(self._brushes) - 1)
            self.trial_points.setData(values["lr"][ok], values["reg"][ok],
                                      brush=[self._brushes[k] for k in levels])
            self.scatter_plot.setTitle(f"val. accuracy {100 * low:.0f}% (dark) to {100 * high:.0f}% (yellow)",
                                       color="k", size="9pt")
        else:
            self.trial_points.setData([], [])
        self.diverged_points.setData(values["lr"][~ok], values["reg"][~ok])
        best = self.state.labs.best_trial() if trials else None
        self.best_point.setData([math.log10(best.values["lr"])] if best else [],
                                [math.log10(best.values["reg"])] if best else [])
        for name, (plot, points) in self.projections.items():
            points.setData(values[name][ok], accuracy[ok])
            label = "learning rates" if name == "lr" else "lambdas"
            plot.setTitle(f"{np.unique(values[name]).size} distinct {label}", color="k", size="9pt")
        # the searched ranges (the first round's), fixed while the trials land
        result = self.state.labs.result(self.lab)
        ranges = result.rounds[0] if result is not None and result.rounds else self.state.labs.settings[self.lab]
        self.scatter_plot.setRange(xRange=np.log10(ranges["lr"]), yRange=np.log10(ranges["reg"]), padding=0.06)
        for name, (plot, _) in self.projections.items():
            plot.setXRange(*np.log10(ranges[name]), padding=0.06)
        self._drawn_count = max(self._drawn_count, len(trials))
        self._fill_table(trials, rebuild=not increment)
        self._sync_buttons()

    def _fill_table(self, trials, rebuild=True):
        """Rows for the trials not in the table yet (all of them when rebuilding). Cells
        hold numbers, so Qt sorts them (in C++) as numbers; the delegate formats them."""
        names = list(trials[0].values) if trials else ["lr", "reg"]
        headers = ["trial", "round", *names, *(header for header, _ in RESULT_COLUMNS)]
        self.table.setSortingEnabled(False)
        if rebuild or self.table.columnCount() != len(headers) or self.table.rowCount() > len(trials):
            self.table.clearContents()
            self.table.setColumnCount(len(headers))
            self.table.setHorizontalHeaderLabels(headers)
            self.table.setRowCount(0)
        # the table is filled in index order of arrival; sorting rearranges rows, not trials
        shown = self.table.rowCount()
        self.table.setRowCount(len(trials))
        for row, trial in enumerate(trials[shown:], start=shown):
            cells = [trial.index, trial.round, *(trial.values[n] for n in names),
                     *(value_of(trial) for _, value_of in RESULT_COLUMNS)]
            for column, value in enumerate(cells):
                item = QtWidgets.QTableWidgetItem()
                item.setData(QtCore.Qt.ItemDataRole.DisplayRole, float(value) if math.isfinite(value) else math.inf)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
