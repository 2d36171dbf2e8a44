"""The initialization lab driven like a person: tick batch norm and watch 0.01's collapse
disappear from the table; read zero init's symmetry in the lab's sentence. (Named apart
from tests/core/test_init_lab.py: the test folders are not packages, basenames must differ.)"""
from PyQt6 import QtCore

from tests.gui.conftest import LAB_TIMEOUT_MS


def test_ticking_batch_norm_keeps_the_small_weights_spread_and_zero_init_stays_symmetric(qtbot, window):
    labs = window.state.labs
    lab = window.labs["Initialization"]
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "init"):
        window.show_lab("Initialization")
    plain = labs.result("init")
    assert not plain.batchnorm and not lab.batchnorm.isChecked()
    headers = [lab.table.horizontalHeaderItem(c).text() for c in range(lab.table.columnCount())]
    small, zero = headers.index("0.01 randn"), headers.index("zero")
    last = lab.table.rowCount() - 1
    collapsed = float(lab.table.item(last, small).text())
    assert collapsed < 1e-3 * float(lab.table.item(0, small).text())
    shown_before = [lab.table.item(row, small).text() for row in range(lab.table.rowCount())]

    # zero init: a column of zeros and the sentence with its numbers
    assert all(float(lab.table.item(row, zero).text()) == 0 for row in range(lab.table.rowCount()))
    sentence = lab.symmetry.text()
    assert lab.symmetry.isVisible() and "all hidden units stay identical" in sentence
    assert "is 0 in their activations and 0 in their weights" in sentence
    assert f"after {plain.symmetry.steps} gradient steps" in sentence

    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "init"):
        qtbot.mouseClick(lab.batchnorm, QtCore.Qt.MouseButton.LeftButton)
    normalized = labs.result("init")
    assert lab.batchnorm.isChecked() and labs.settings["init"]["batchnorm"] is True and normalized.batchnorm
    shown_after = [lab.table.item(row, small).text() for row in range(lab.table.rowCount())]
    assert shown_after != shown_before
    spread = float(lab.table.item(last, small).text())
    assert spread > 1e4 * collapsed and spread > 0.3 * float(lab.table.item(0, small).text())
    assert "batch norm" in lab.status.text() and "even 0.01 keeps the spread" in lab.status.text()
    assert "all hidden units stay identical" in lab.symmetry.text()

    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "init"):
        qtbot.mouseClick(lab.batchnorm, QtCore.Qt.MouseButton.LeftButton)  # untick: the collapse is back
    assert not labs.result("init").batchnorm
    assert [lab.table.item(row, small).text() for row in range(lab.table.rowCount())] == shown_before


def test_typing_a_number_of_layers_computes_once_when_typing_ends(qtbot, window):
    """Typing "20" into the lab's Hidden layers computed the lab for 2, then for 20 (the
    box applied every key); its value changes when typing ends now, as every number box
    of the app does (the same for Units per layer, Hinge anatomy's example and the
    Gradient check's parameters)."""
    from tests.gui.conftest import type_into

    labs = window.state.labs
    lab = window.labs["Initialization"]
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "init"):
        window.show_lab("Initialization")
    started = labs.started["init"]
    for box in (lab.depth, lab.width, window.labs["Hinge anatomy"].example, window.labs["Gradient check"].samples):
        assert not box.keyboardTracking()
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "init"):
        type_into(qtbot, lab.depth, "12")
    assert labs.result("init").depth == 12 and labs.started["init"] == started + 1
