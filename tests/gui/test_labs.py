"""The lab tabs: values asserted against the core functions they show."""
import math

import numpy as np
import pytest
from PyQt6 import QtCore

from core.gradcheck import gradient_check
from core.labs import sanity_checks, step_size_sweep
from gui.main_window import MainWindow

TIMEOUT_MS = 60000


@pytest.fixture
def window(qtbot):
    win = MainWindow(settings=None)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(win.scene_complete, timeout=TIMEOUT_MS)
    yield win
    win.close()


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
    lab.point.setCurrentIndex(lab.point.findData("centre"))  # from the trained minimum: nearly flat
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
