"""File > Save/Open session and Recent sessions, driven through the menus."""
import json

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from tests.gui.conftest import SCENE_TIMEOUT_MS


def snapshot(state):
    return state.landscape.values.copy(), {k: r.thetas.copy() for k, r in state.runs.items()}


def test_save_then_open_reproduces_the_same_slice_and_paths(qtbot, window, tmp_path, monkeypatch):
    state = window.state
    window.model_panel.loss.setCurrentIndex(window.model_panel.loss.findData("svm"))
    qtbot.waitUntil(lambda: state.problem.loss == "svm" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    state.set_race(steps=60, start=(0.4, 0.3))
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    saved_values, saved_paths = snapshot(state)
    path = tmp_path / "scene.hillwalk.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_session_action.trigger()
    assert json.loads(path.read_text())["problem"]["loss"] == "svm"

    window.model_panel.loss.setCurrentIndex(window.model_panel.loss.findData("softmax"))  # change things
    state.set_race(steps=30)
    qtbot.waitUntil(lambda: state.problem.loss == "softmax" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_session_action.trigger()
    qtbot.waitUntil(lambda: state.problem.loss == "svm" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    values, paths = snapshot(state)
    np.testing.assert_array_equal(values, saved_values)
    assert sorted(paths) == sorted(saved_paths)
    for key in paths:
        np.testing.assert_array_equal(paths[key], saved_paths[key])
    assert window.model_panel.loss.currentData() == "svm" and window.optimizers_panel.steps.value() == 60
    recent = window.recent_menu.actions()
    assert recent and recent[0].text() == "scene.hillwalk.json"


@pytest.mark.parametrize("content, message", [
    ('{"format": "hillwalk-session", "version": 7}', "newer Hillwalk"),
    ('{"format": "hillwalk-session", "ver', "not valid JSON"),
    ('{"format": "hillwalk-session", "version": 1, "problem": {"lam": "x"}}', "problem.lam must be a finite number"),
    ('{"format": "hillwalk-session", "version": 1, "view": {"contours": "many"}}', "contours must be a whole number"),
    # a 1-D cut (the command line's): the window had nothing it could draw and never finished
    ('{"format": "hillwalk-session", "version": 1, "slice": {"cut": true}}', "slice is a 1-D cut"),
    ('{"format": "hillwalk-session", "version": 1, "slice": {"directions": "interpolate"}}', "slice is a 1-D cut"),
])
def test_a_bad_session_changes_nothing(qtbot, window, tmp_path, content, message):
    state = window.state
    before = state.session().to_dict()
    picture = state.landscape
    path = tmp_path / "bad.hillwalk.json"
    path.write_text(content)
    window.open_session(path)
    qtbot.waitUntil(lambda: window.error_dialog is not None and window.error_dialog.isVisible(),
                    timeout=SCENE_TIMEOUT_MS)
    assert message in window.error_dialog.text()
    assert state.session().to_dict() == before and state.landscape is picture
    window.error_dialog.close()


def test_recent_sessions_reopen(qtbot, window, tmp_path):
    state = window.state
    path = tmp_path / "wine.hillwalk.json"
    window.data_panel.dataset.setCurrentIndex(window.data_panel.dataset.findData("wine"))
    qtbot.waitUntil(lambda: state.problem.dataset == "wine" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    window.save_session(path)
    window.data_panel.dataset.setCurrentIndex(window.data_panel.dataset.findData("iris"))
    qtbot.waitUntil(lambda: state.problem.dataset == "iris" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    window.recent_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: state.problem.dataset == "wine" and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    assert window.data_panel.dataset.currentData() == "wine"


def test_a_session_opened_from_the_command_line_shows_the_tab_it_was_saved_on(qtbot, tmp_path, monkeypatch):
    """`--screenshot --session` and `--session` apply a session as File > Open does,
    lab tab included (they once left the landscape tab in front)."""
    import hillwalk.gui.app as app_module
    from hillwalk.core.io.session import Session
    from hillwalk.gui.main_window import PRESETS_DIR

    seen = {}
    dispose = app_module.dispose_window

    def look_then_dispose(window):
        lab = window.labs["Compare two models"]  # the session says "Linear vs network", its former title
        seen.update(front=window.current_lab() is lab, computed=lab.result is not None)
        dispose(window)

    monkeypatch.setattr(app_module, "dispose_window", look_then_dispose)
    session = Session.load(PRESETS_DIR / "10-spiral-network.hillwalk.json")
    assert session.view["lab"] == "Linear vs network"
    app_module.take_screenshot(tmp_path / "shot.png", size=(1000, 700), session=session)
    assert seen == {"front": True, "computed": True}
    assert (tmp_path / "shot.png").stat().st_size > 10000


def test_a_saved_session_reopens_on_the_lab_that_was_in_front(qtbot, window, tmp_path, monkeypatch):
    """The lab saved with a session was the one it had been opened on ("" by default): a
    lab chosen since was not saved."""
    from PyQt6 import QtCore

    button = next(b for b in window.page_strip.buttons if b.text() == "Decision regions")
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    assert window.current_lab_name() == "Decision regions"
    path = tmp_path / "scene.hillwalk.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_session_action.trigger()
    assert json.loads(path.read_text())["view"]["lab"] == "Decision regions"
    window.show_lab("")
    window.open_session(path)
    qtbot.waitUntil(lambda: window.current_lab_name() == "Decision regions", timeout=SCENE_TIMEOUT_MS)


def test_a_session_saved_after_a_regularization_change_reopens_on_the_same_plane(qtbot, window, tmp_path,
                                                                                 monkeypatch):
    """A new lambda keeps the plane (its centre was trained at the old one); the saved
    session records that regularization as its slice's center_regularization, so reopening
    finds the same centre and directions and draws the same slice and paths. (It recorded
    only the new lambda: reopening trained the centre anew, at it, and the view changed.)
    Retrain centre makes the plane the new lambda's again, and the record goes."""
    from tests.gui.conftest import type_into

    state = window.state
    old_lam = state.problem.lam
    type_into(qtbot, window.model_panel.lam, f"{old_lam * 50:g}")
    qtbot.waitUntil(lambda: state.problem.lam == old_lam * 50 and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    center, dir1 = state.plane.center.copy(), state.plane.dir1.copy()
    saved_values, saved_paths = snapshot(state)
    path = tmp_path / "kept.hillwalk.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_session_action.trigger()
    recorded = json.loads(path.read_text())["slice"]["center_regularization"]
    assert recorded == {"regularizer": state.problem.regularizer, "lam": old_lam, "beta": state.problem.beta,
                        "regularize_bias": state.problem.regularize_bias}

    qtbot.mouseClick(window.landscape_panel.retrain, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.scene_complete() and not np.array_equal(state.plane.center, center),
                    timeout=SCENE_TIMEOUT_MS)
    assert state.session().slice.center_regularization is None   # the plane is the new lambda's now

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_session_action.trigger()
    qtbot.waitUntil(lambda: window.scene_complete() and np.array_equal(state.plane.center, center),
                    timeout=SCENE_TIMEOUT_MS)
    np.testing.assert_array_equal(state.plane.dir1, dir1)
    assert state.problem.lam == old_lam * 50
    values, paths = snapshot(state)
    np.testing.assert_array_equal(values, saved_values)
    for key in paths:
        np.testing.assert_array_equal(paths[key], saved_paths[key])
    # saved again as it is, the record stays
    assert state.session().slice.center_regularization.lam == old_lam
    # ... and so does the last scene the window restores when it starts again
    state.load_settings_dict(state.settings_dict())
    state.start()
    qtbot.waitUntil(lambda: window.scene_complete() and state.plane is not None, timeout=SCENE_TIMEOUT_MS)
    np.testing.assert_array_equal(state.plane.center, center)
    assert state.session().slice.center_regularization.lam == old_lam


def test_a_session_saved_centred_on_a_methods_position_reopens_on_that_point(qtbot, window, tmp_path, monkeypatch):
    """The centre set to a method's position at the current step is stored in the session
    (slice.center_point, the parameters exactly), so reopening draws the same plane, slice
    and paths, with the centre box on that method's position again; and the last scene
    restored at start keeps it. (It was not stored: reopening centred on the trained W.)"""
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    state.set_playing(False)
    state.set_frame(40)
    entry = state.optimizers[1]
    expected = state.runs[entry.id].thetas[40].copy()
    combo = window.landscape_panel.center
    combo.setCurrentIndex(combo.findData(f"run:{entry.id}"))
    qtbot.waitUntil(lambda: window.scene_complete() and np.array_equal(state.plane.center, expected),
                    timeout=SCENE_TIMEOUT_MS)
    label, dir1 = state.plane.info["center"], state.plane.dir1.copy()
    saved_values, saved_paths = snapshot(state)
    path = tmp_path / "point.hillwalk.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_session_action.trigger()
    point = json.loads(path.read_text())["slice"]["center_point"]
    assert point["label"] == label and point["size"] == expected.size and point["method"] == 1

    combo.setCurrentIndex(combo.findData("trained"))   # away from it
    qtbot.waitUntil(lambda: window.scene_complete() and state.custom_center is None
                    and not np.array_equal(state.plane.center, expected), timeout=SCENE_TIMEOUT_MS)
    assert state.session().slice.center_point is None

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_session_action.trigger()
    qtbot.waitUntil(lambda: window.scene_complete() and np.array_equal(state.plane.center, expected),
                    timeout=SCENE_TIMEOUT_MS)
    np.testing.assert_array_equal(state.plane.dir1, dir1)
    assert state.plane.info["center"] == label and combo.currentData() == f"run:{state.optimizers[1].id}"
    values, paths = snapshot(state)
    np.testing.assert_array_equal(values, saved_values)
    for key in paths:
        np.testing.assert_array_equal(paths[key], saved_paths[key])
    # the last scene the window restores when it starts again keeps it too
    state.load_settings_dict(state.settings_dict())
    state.start()
    qtbot.waitUntil(lambda: window.scene_complete() and state.plane is not None, timeout=SCENE_TIMEOUT_MS)
    np.testing.assert_array_equal(state.plane.center, expected)
    assert state.custom_center is not None and state.session().slice.center_point.label == label


def test_a_second_regularization_change_extends_the_first_on_its_way(qtbot, window):
    """L1 chosen, then a lambda typed before the first change has landed: the second was
    built on the regularization in force (L2), and L1 was lost."""
    from tests.gui.conftest import type_into

    state, panel = window.state, window.model_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    panel.regularizer.setCurrentIndex(panel.regularizer.findData("l1"))
    assert state.jobs.is_live("reg")
    type_into(qtbot, panel.lam, "0.02")
    qtbot.waitUntil(lambda: window.scene_complete() and state.problem.lam == 0.02, timeout=SCENE_TIMEOUT_MS)
    assert state.problem.regularizer == "l1"
