"""The Loss lab (the notes' worked example of the SVM and softmax losses) in the window: what
it shows is the core result, typing into the score table recomputes it, a bad entry is
refused with one message, Reset brings back the notes' numbers, and a new scene leaves the
lab alone."""
import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.labs.worked_example import NOTES_SCORES, worked_example
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, wait_for_frames


def new_result(qtbot, window, action):
    """Do ``action`` and wait for the Loss lab's next result; returns it."""
    labs = window.state.labs
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda lab: lab == "loss"):
        action()
    return labs.result("loss")


def open_loss_lab(qtbot, window):
    lab = window.labs["Loss"]
    new_result(qtbot, window, lambda: window.show_lab("Loss"))
    assert lab.result is window.state.labs.result("loss")   # the panel draws what the state holds
    return lab


def type_into_cell(qtbot, table, row, column, text):
    """Edit a cell as a person does: open its editor, replace the text, press Enter."""
    table.setCurrentCell(row, column)
    table.editItem(table.item(row, column))
    editor = table.viewport().findChild(QtWidgets.QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)


def texts(table, column):
    return [table.item(row, column).text() for row in range(table.rowCount())]


def test_the_lab_shows_the_notes_worked_example_as_core_computes_it(qtbot, window):
    lab = open_loss_lab(qtbot, window)
    result = window.state.labs.result("loss")
    expected = worked_example()   # the notes' scores, labels and delta, computed by core on its own
    np.testing.assert_array_equal(result.svm_losses, expected.svm_losses)
    np.testing.assert_array_equal(result.probabilities, expected.probabilities)
    # the score table: a row per image, a column per class's score, as the notes' numbers
    assert texts(lab.scores, 1) == ["5.1", "4.9", "2.5"]
    assert lab.scores.verticalHeaderItem(1).text() == "car image (label 1)"
    assert lab.scores.horizontalHeaderItem(2).text().startswith("frog score")
    # SVM: 2.9 / 0 / 12.9 -> 5.27, written from the core result
    assert texts(lab.svm, 3) == [f"{v:.4g}" for v in result.svm_losses] == ["2.9", "0", "12.9"]
    assert texts(lab.svm, 1) == ["2.9", "(correct)", "6.6"]   # where the cat image's 2.9 comes from
    assert f"<b>{result.svm_mean:.4g}</b>" in lab.svm_mean.text()
    assert float(f"{result.svm_mean:.4g}") == pytest.approx(5.27, abs=0.005)
    # softmax: the first row's probabilities and its loss 2.04
    assert [lab.softmax.item(0, j).text() for j in range(3)] == [f"{p:.4g}" for p in result.probabilities[0]]
    assert lab.softmax.item(0, 3).text() == f"{result.softmax_losses[0]:.4g}" == "2.04"
    assert f"<b>{result.softmax_mean:.4g}</b>" in lab.softmax_mean.text()
    questions = lab.questions.text()
    assert "3.9 / 1 / 13.9 instead of 2.9 / 0 / 12.9" in questions and "each exactly" in questions   # (a)
    assert "its SVM loss is 0 / 0 / 0" in questions and "it stays 0" in questions                    # (b)
    assert f"<b>{result.zero_svm:.4g}</b>" in questions and f"<b>{result.zero_softmax:.4g}</b>" in questions
    assert (result.zero_svm, round(result.zero_softmax, 4)) == (2.0, 1.0986)                          # (c)
    weights = lab.weights
    assert texts(weights, 0) == ["1", "1"] and texts(weights, 1) == ["1", "0.25"] and texts(weights, 2) == ["1", "1"]
    assert "L2 prefers w2" in lab.l2_verdict.text()


def test_typing_a_score_recomputes_the_losses(qtbot, window):
    lab = open_loss_lab(qtbot, window)
    state = window.state
    result = new_result(qtbot, window, lambda: type_into_cell(qtbot, lab.scores, 1, 1, "2.5"))
    assert state.labs.settings["loss"]["scores"][1] == (1.3, 2.5, 2.0)
    assert result.scores[1, 1] == 2.5
    # the car image now: max(0, 1.3 - 2.5 + 1) + max(0, 2.0 - 2.5 + 1) = 0.5
    assert result.svm_losses[1] == pytest.approx(0.5, abs=1e-12)
    assert lab.svm.item(1, 3).text() == f"{result.svm_losses[1]:.4g}" == "0.5"
    assert lab.svm.item(1, 2).text() == "0.5"
    assert f"<b>{result.svm_mean:.4g}</b>" in lab.svm_mean.text()
    assert lab.softmax.item(1, 3).text() == f"{result.softmax_losses[1]:.4g}"
    # (b) with this table: 1.3 / 0.5 / 0, and the lab says so
    assert "its SVM loss is 1.3 / 0.5 / 0" in lab.questions.text()
    assert "does not stay 0" in lab.questions.text()
    assert "leads the best other score by 0.5, less than" in lab.questions.text()
    # delta: the correct class's own term follows it
    result = new_result(qtbot, window, lambda: lab.delta.setValue(2.0))
    assert state.labs.settings["loss"]["delta"] == 2.0
    np.testing.assert_allclose(result.correct_class_term, 2.0)
    assert "larger by 2 / 2 / 2, each exactly" in lab.questions.text()


@pytest.mark.parametrize("text, message", [("abc", "is 'abc', which is not a number"),
                                           ("nan", "a score must be a finite number")])
def test_a_bad_entry_is_refused_with_one_message_and_the_old_value_stays(qtbot, window, text, message):
    lab = open_loss_lab(qtbot, window)
    state = window.state
    before, started = state.labs.result("loss"), state.labs.started["loss"]
    messages = []
    state.error.connect(messages.append)
    type_into_cell(qtbot, lab.scores, 0, 2, text)
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=UI_TIMEOUT_MS)
    wait_for_frames(qtbot, window)   # a second message would have arrived by now
    assert len(messages) == 1 and message in messages[0] and "the cat image's score for frog" in messages[0]
    assert lab.scores.item(0, 2).text() == "-1.7"
    assert state.labs.settings["loss"]["scores"] == NOTES_SCORES
    assert state.labs.result("loss") is before and state.labs.started["loss"] == started   # nothing recomputed
    assert message in window.status_message.text()
    window.error_dialog.close()


def test_a_negative_delta_is_refused_with_one_message(qtbot, window):
    lab = open_loss_lab(qtbot, window)
    state = window.state
    messages = []
    state.error.connect(messages.append)
    lab.delta.setFocus()
    lab.delta.lineEdit().selectAll()
    qtbot.keyClicks(lab.delta.lineEdit(), "-1")
    qtbot.keyClick(lab.delta.lineEdit(), QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=UI_TIMEOUT_MS)
    wait_for_frames(qtbot, window)
    assert len(messages) == 1 and "the SVM margin delta must be a number in (0, 1e+06]" in messages[0]
    assert lab.delta.value() == 1.0 and state.labs.settings["loss"]["delta"] == 1.0
    window.error_dialog.close()


def test_reset_brings_back_the_notes_numbers(qtbot, window):
    lab = open_loss_lab(qtbot, window)
    state = window.state
    new_result(qtbot, window, lambda: type_into_cell(qtbot, lab.scores, 2, 0, "-4"))
    new_result(qtbot, window, lambda: lab.delta.setValue(0.5))
    assert lab.scores.item(2, 0).text() == "-4" and state.labs.settings["loss"]["delta"] == 0.5
    result = new_result(qtbot, window, lambda: qtbot.mouseClick(lab.reset, QtCore.Qt.MouseButton.LeftButton))
    assert state.labs.settings["loss"] == {"scores": NOTES_SCORES, "delta": 1.0}
    assert lab.delta.value() == 1.0
    assert [texts(lab.scores, j) for j in range(3)] == [["3.2", "1.3", "2.2"], ["5.1", "4.9", "2.5"],
                                                        ["-1.7", "2", "-3.1"]]
    np.testing.assert_array_equal(result.svm_losses, worked_example().svm_losses)
    assert texts(lab.svm, 3) == ["2.9", "0", "12.9"]


def test_a_new_scene_leaves_the_lab_alone(qtbot, window):
    lab = open_loss_lab(qtbot, window)
    state = window.state
    before, started = state.labs.result("loss"), state.labs.started["loss"]
    window.data_panel.objective.setCurrentIndex(window.data_panel.objective.findData("rosenbrock"))
    qtbot.waitUntil(lambda: not hasattr(state.objective, "train") and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    wait_for_frames(qtbot, window)
    assert state.labs.result("loss") is before and state.labs.started["loss"] == started
    assert lab.body.isVisible() and not lab.reason.isVisible()   # the notes' example applies to any scene
    assert texts(lab.svm, 3) == ["2.9", "0", "12.9"]
