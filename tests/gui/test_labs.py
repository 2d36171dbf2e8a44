"""The lab tabs: values asserted against the core functions they show."""
import math

import numpy as np
import pytest
from PyQt6 import QtCore

from core.labs.gradcheck import gradient_check
from core.labs.lessons import sanity_checks, step_size_sweep

TIMEOUT_MS = 60000




def open_lab(qtbot, window, name):
    lab = window.labs[name]
    lab.result = None
    window.tabs.setCurrentWidget(lab)
    qtbot.waitUntil(lambda: lab.result is not None, timeout=TIMEOUT_MS)
    return lab


def test_gradient_check_lab_shows_core_values(qtbot, window):
    lab = open_lab(qtbot, window, "Gradient check")
    result, (hs, max_errors, _), shape = lab.result
    state = window.state
    theta = state.objective.initial_theta(state.slice.init_scale, state.slice.seed)
    expected = gradient_check(state.objective, theta)
    np.testing.assert_array_equal(result.rel_error, expected.rel_error)
    assert shape == (10, 65) and lab.image.image.shape == (10, 65)
    assert result.max_rel_error_away_from_kinks < 1e-6
    assert np.argmin(max_errors) not in (0, hs.size - 1)  # round-off left, truncation right
    assert "Largest relative error away from kinks" in lab.status.text()
    assert "&lt;1e-07: " in lab.status.text()  # escaped, so the label shows "<1e-07" instead of eating it as markup
    lab.result = None
    qtbot.mouseClick(lab.broken, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lab.result is not None, timeout=TIMEOUT_MS)
    assert lab.result[0].max_rel_error_away_from_kinks > 1e-3  # what failing looks like
    assert "broken on purpose" in lab.status.text()


def test_step_size_lab_matches_the_sweep_and_sends_a_learning_rate(qtbot, window):
    lab = open_lab(qtbot, window, "Step size")
    state = window.state
    expected = step_size_sweep(state.objective, state.objective.initial_theta(state.slice.init_scale, state.slice.seed))
    np.testing.assert_allclose(lab.result.losses, expected.losses, rtol=1e-12)
    assert lab.table.rowCount() == 10 and lab.table.item(0, 0).text() == "1e-10"
    assert lab.result.best_index == int(np.argmin(expected.losses))
    target = state.optimizers[1]
    lab.target.setCurrentIndex(lab.target.findData(target.id))
    lab.table.selectRow(7)  # 1e-3
    qtbot.mouseClick(lab.send_button, QtCore.Qt.MouseButton.LeftButton)
    assert state.entry(target.id).spec.lr == pytest.approx(1e-3)
    lab.result = None
    lab.point.setCurrentIndex(lab.point.findData("center"))  # from the trained minimum: nearly flat
    qtbot.waitUntil(lambda: lab.result is not None, timeout=TIMEOUT_MS)
    assert lab.result.start_loss == pytest.approx(state.objective.loss(state.plane.center))
    qtbot.waitUntil(window.scene_complete, timeout=TIMEOUT_MS)


def test_sanity_lab_reports_ln_c_and_overfitting(qtbot, window):
    lab = open_lab(qtbot, window, "Sanity checks")
    report = lab.result
    expected = sanity_checks(window.state.objective)
    assert report.expected == pytest.approx(math.log(10))
    assert report.loss_at_tiny_w == pytest.approx(expected.loss_at_tiny_w)
    assert report.overfits and report.subset_losses[-1] < 1e-3
    assert "ln C = ln 10" in lab.initial.text() and "as expected" in lab.initial.text()
    assert "gradient works" in lab.overfit.text()


def test_svm_and_softmax_side_by_side_with_linked_cursors(qtbot, window):
    from core.landscapes.landscape import compute_slice
    from core.models.objectives import LinearClassifier

    lab = open_lab(qtbot, window, "SVM vs softmax")
    state = window.state
    svm = LinearClassifier(state.objective.train, state.objective.val, "svm", regularizer=state.objective.regularizer)
    expected = compute_slice(svm, state.plane, lab.result["svm"].alphas, lab.result["svm"].betas, "total")
    np.testing.assert_allclose(lab.result["svm"].values, expected.values, rtol=1e-12)
    np.testing.assert_allclose(lab.result["softmax"].values, state.landscape.values, rtol=1e-12)
    lab.show_cursor(0.3, -0.2)
    for vertical, horizontal in lab.crosshairs.values():
        assert vertical.value() == pytest.approx(0.3) and horizontal.value() == pytest.approx(-0.2)
    assert "svm" in lab.readout.text() and "softmax" in lab.readout.text()
    qtbot.mouseClick(lab.shared_levels, QtCore.Qt.MouseButton.LeftButton)
    assert lab.figures["svm"].colorbar.levels() == lab.figures["softmax"].colorbar.levels()


def test_hinge_anatomy_terms_sum_to_the_example_loss(qtbot, window):
    lab = open_lab(qtbot, window, "Hinge anatomy")
    alphas, terms, classes, label, weights, total, toy_terms = lab.result
    assert terms.shape == (9, alphas.size) and label not in classes
    assert np.any(terms[:, 0] > 0) or np.any(terms[:, -1] > 0)  # the range holds the kinks
    np.testing.assert_allclose(sum(toy_terms.values()), total, rtol=1e-12)
    qtbot.mouseClick(lab.toggle, QtCore.Qt.MouseButton.LeftButton)
    assert window.state.slice.component == "example:0"
    qtbot.waitUntil(window.scene_complete, timeout=TIMEOUT_MS)
    qtbot.mouseClick(lab.toggle, QtCore.Qt.MouseButton.LeftButton)
    assert window.state.slice.component == "data"
    qtbot.waitUntil(window.scene_complete, timeout=TIMEOUT_MS)


def test_decision_regions_follow_the_race_on_a_2d_data_set(qtbot, window):
    from core.labs.lessons import decision_regions

    state = window.state
    lab = window.labs["Decision regions"]
    window.tabs.setCurrentWidget(lab)
    assert "2 features" in lab.status.text()  # digits has 64
    window.data_panel.dataset.setCurrentIndex(window.data_panel.dataset.findData("blobs"))
    qtbot.waitUntil(lambda: state.problem.dataset == "blobs" and window.scene_complete(), timeout=TIMEOUT_MS)
    entry = state.optimizers[3]
    lab.source.setCurrentIndex(lab.source.findData(entry.id))
    state.set_frame(10)
    early = lab.classes.copy()
    _, _, expected = decision_regions(state.objective, state.runs[entry.id].thetas[10], resolution=160)
    np.testing.assert_array_equal(early, expected)
    state.set_frame(state.race.steps)
    assert not np.array_equal(lab.classes, early)  # the regions moved with the race
    assert "blobs: training accuracy" in lab.status.text()


@pytest.mark.parametrize("name", ["Gradient check", "Step size", "Sanity checks", "SVM vs softmax", "Hinge anatomy",
                                  "Decision regions"])
def test_every_lab_exports_to_png_and_svg(qtbot, window, tmp_path, monkeypatch, name):
    import xml.etree.ElementTree as ElementTree

    from PyQt6 import QtGui, QtWidgets

    window.tabs.setCurrentWidget(window.labs[name])
    qtbot.wait(50)
    png, svg = tmp_path / "lab.png", tmp_path / "lab.svg"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(png), ""))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getInt", lambda *a, **k: (900, True))
    window.export_tab_actions["png"].trigger()
    assert QtGui.QImage(str(png)).width() == 900
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(svg), ""))
    window.export_tab_actions["svg"].trigger()
    assert ElementTree.parse(svg).getroot().tag.endswith("svg")
