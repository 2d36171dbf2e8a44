"""The hyperparameter search lab (issue 16), driven like a person: set the budget, start,
watch trials arrive, cancel, restart, send the best to the race, export the table."""
import csv

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.labs.hyperparameter_search import SearchSpec, search
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS


def type_into(qtbot, box, text):
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)


def open_lab(qtbot, window):
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.show_lab("Hyperparameters")
    return window.labs["Hyperparameters"]


@pytest.mark.scene("small_digits_session")
def test_a_search_runs_draws_its_trials_and_sends_the_best_to_the_race(qtbot, window, tmp_path, monkeypatch):
    state = window.state
    lab = open_lab(qtbot, window)
    assert state.labs.result("search") is None and not state.labs.busy("search")   # nothing runs by itself
    lab.strategy.setCurrentIndex(lab.strategy.findData("grid"))
    type_into(qtbot, lab.trials, "9")
    type_into(qtbot, lab.workers, "2")
    arrived = []
    state.labs.lab_partial.connect(lambda name, increment: arrived.append(len(increment)))
    qtbot.mouseClick(lab.start_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.labs.result("search") is not None, timeout=LAB_TIMEOUT_MS)
    result = state.labs.result("search")
    assert sum(arrived) == 9 and len(result.trials) == 9      # the trials came as increments, each once
    assert lab.table.rowCount() == 9
    # what the app computed is what core computes for the same settings (same seed, same table)
    spec = SearchSpec(strategy="grid", trials=9, epochs=1, method="sgd", batch_size=64, seed=0)
    direct = search(state.problem, spec, state.objective)
    assert [(t.values, t.val_acc) for t in direct.trials] == [(t.values, t.val_acc) for t in result.trials]
    best = result.best
    assert f"validation accuracy {100 * best.val_acc:.1f}%" in lab.verdict.text()
    assert "3 distinct learning rates" in lab.projections["lr"][0].titleLabel.text
    xs, ys = lab.best_point.getData()
    assert np.allclose(10 ** np.asarray(xs), [best.values["lr"]])     # the scatter holds log10 values
    # the table sorts by a column's numbers when its header is clicked
    header = lab.table.horizontalHeader()
    column = [lab.table.horizontalHeaderItem(c).text() for c in range(lab.table.columnCount())].index("val acc")
    position = QtCore.QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2,
                             header.height() // 2)
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=position)
    values = [float(lab.table.item(r, column).text()) for r in range(9)]
    assert values == sorted(values) or values == sorted(values, reverse=True)

    sgd = next(e for e in state.optimizers if e.spec.method == "sgd")
    qtbot.mouseClick(lab.send_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.entry(sgd.id).spec.lr == best.values["lr"], timeout=UI_TIMEOUT_MS)
    assert state.entry(sgd.id).spec.batch_size == 64

    out = tmp_path / "trials.csv"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(out), "CSV"))
    qtbot.mouseClick(lab.export_button, QtCore.Qt.MouseButton.LeftButton)
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [float(r["val_acc"]) for r in rows] == [t.val_acc for t in result.trials]
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


@pytest.mark.scene("small_digits_session")
def test_cancel_keeps_the_trials_so_far_and_a_restart_begins_a_new_table(qtbot, window):
    state = window.state
    lab = open_lab(qtbot, window)
    type_into(qtbot, lab.trials, "400")
    type_into(qtbot, lab.epochs, "3")
    type_into(qtbot, lab.workers, "2")
    qtbot.mouseClick(lab.start_button, QtCore.Qt.MouseButton.LeftButton)
    assert state.labs.busy("search") and lab.cancel_button.isEnabled() and not lab.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(state.labs.partial("search")) >= 2, timeout=LAB_TIMEOUT_MS)
    qtbot.mouseClick(lab.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    # the job ends (within a second on an idle machine: the trials check every 10 steps; the
    # wait allows a machine four times slower and busy)
    qtbot.waitUntil(lambda: not state.labs.busy("search"), timeout=UI_TIMEOUT_MS)
    kept = len(state.labs.partial("search"))
    assert 2 <= kept < 400 and state.labs.result("search") is None
    assert lab.table.rowCount() == kept and "Cancelled after" in lab.verdict.text()
    assert lab.start_button.isEnabled() and lab.export_button.isEnabled()

    lab.strategy.setCurrentIndex(lab.strategy.findData("random"))
    type_into(qtbot, lab.trials, "4")
    type_into(qtbot, lab.epochs, "1")
    qtbot.mouseClick(lab.start_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.labs.result("search") is not None, timeout=LAB_TIMEOUT_MS)
    assert len(state.labs.result("search").trials) == 4 and lab.table.rowCount() == 4


def test_refused_ranges_and_where_the_lab_does_not_apply(qtbot, window):
    state = window.state
    lab = open_lab(qtbot, window)
    assert not lab.hidden_check.isEnabled()           # a linear model has no hidden units
    failures = []
    state.error.connect(failures.append)
    type_into(qtbot, lab.lr_low, "2")                 # above the range's high end (1)
    qtbot.mouseClick(lab.start_button, QtCore.Qt.MouseButton.LeftButton)
    assert len(failures) == 1 and "runs from low to high" in failures[0]
    assert not state.labs.busy("search") and state.labs.settings["search"]["lr"] == (1e-6, 1.0)
    window.state.choose_objective("beale")
    qtbot.waitUntil(lambda: lab.reason.isVisible(), timeout=SCENE_TIMEOUT_MS)
    assert "classifier on data" in lab.reason.text()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
