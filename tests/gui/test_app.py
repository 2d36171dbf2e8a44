"""The desktop app, driven as a person would: clicks, keys, menus, and what changed. Each
test starts from the small scene (tests/gui/conftest.py); the window's opening on the
default scene is test_default_scene.py's."""
import json

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.gui.main_window import MainWindow
from tests.gui.conftest import LONG_WORK_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, wait_for_frames
from tests.gui.scenes import small_session


def middle(landscape):
    """The grid point at (a, b) = (0, 0): the middle of an odd grid."""
    rows, columns = landscape.values.shape
    return rows // 2, columns // 2


def wait_for_new_landscape(qtbot, state, old):
    qtbot.waitUntil(lambda: state.landscape is not None and state.landscape is not old, timeout=SCENE_TIMEOUT_MS)


def wait_for_runs(qtbot, window):
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def click_plane(qtbot, window, a, b):
    figure = window.heatmap.figure
    scene_point = window.heatmap.scene_position_of(a, b)
    view_point = figure.mapFromScene(scene_point)
    qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view_point)


def test_clicking_the_heatmap_moves_the_start_of_every_path(qtbot, window):
    click_plane(qtbot, window, 0.5, -0.4)
    state = window.state
    assert state.race.start == pytest.approx((0.5, -0.4), abs=0.02)
    wait_for_runs(qtbot, window)
    for run in state.runs.values():
        assert (run.a[0], run.b[0]) == pytest.approx(state.race.start, abs=1e-9)
    shown = dict(part.split(" = ") for part in window.optimizers_panel.start_label.text().split(", "))
    assert (float(shown["a"]), float(shown["b"])) == pytest.approx(state.race.start, abs=1e-3)


def test_play_pause_step_and_reset(qtbot, window):
    state = window.state
    window.activateWindow()
    window.setFocus()
    if state.playing:
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not state.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_R)
    assert state.frame == 0
    before = window.heatmap.markers.head_position(1)
    for _ in range(3):
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert state.frame == 3 and window.step_label.text().startswith("step 3")
    after = window.heatmap.markers.head_position(1)
    assert not np.allclose(np.r_[before], np.r_[after])  # the marker moved
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert state.playing
    qtbot.waitUntil(lambda: state.frame > 10, timeout=UI_TIMEOUT_MS)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    paused_at = state.frame
    wait_for_frames(qtbot, window, 5)  # frames of the playback timer pass: none moves the race on
    assert state.frame == paused_at and not state.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_R)
    assert state.frame == 0 and window.scrub.value() == 0


def test_scrubbing_moves_the_curves_cursor(qtbot, window):
    window.scrub.setValue(40)  # of the small scene's 60 steps
    assert window.state.frame == 40 and not window.state.playing
    # the curves follow the state a few ms later (gui.pacing)
    qtbot.waitUntil(lambda: all(cursor.value() == 40 for cursor in window.curves.cursors), timeout=UI_TIMEOUT_MS)


def test_changing_the_loss_recomputes_the_slice(qtbot, window):
    state = window.state
    old = state.landscape
    combo = window.model_panel.loss
    combo.setCurrentIndex(combo.findData("svm"))
    wait_for_new_landscape(qtbot, state, old)
    assert state.problem.loss == "svm"
    assert not np.allclose(state.landscape.values, old.values)
    center = state.landscape.values[middle(state.landscape)]  # (a, b) = (0, 0)
    assert center == pytest.approx(state.objective.loss(state.plane.center), rel=1e-12)
    assert state.objective.loss_name == "svm"
    wait_for_runs(qtbot, window)


def test_changing_lambda_changes_the_total_but_not_the_data_part(qtbot, window):
    state = window.state
    old_total, old_data, old_center = state.landscape.values.copy(), state.data_values.copy(), state.plane.center
    started = []
    start = state.jobs.start
    state.jobs.start = lambda kind, job: (started.append(kind), start(kind, job))[1]
    window.model_panel.lam.setValue(0.05)
    qtbot.waitUntil(lambda: state.problem.lam == 0.05 and state.landscape is not None
                    and not np.allclose(state.landscape.values, old_total), timeout=SCENE_TIMEOUT_MS)
    np.testing.assert_array_equal(state.data_values, old_data)       # only the regularization term was redone
    assert state.plane.center is old_center                          # the centre is kept
    np.testing.assert_allclose(state.landscape.values - state.data_values,
                               50 * (old_total - old_data), rtol=1e-9)  # lambda 1e-3 -> 5e-2
    # the new total comes with the new objective: no second trip through the workers
    assert "reg" in started and "slice" not in started and "contours" not in started
    wait_for_runs(qtbot, window)


def test_changing_lambda_leaves_a_data_slice_and_its_lines_alone(qtbot, window):
    """The data loss does not depend on lambda: the slice on screen and its contour lines
    stand, nothing is computed or traced again for them."""
    state = window.state
    combo = window.landscape_panel.component
    combo.setCurrentIndex(combo.findData("data"))
    qtbot.waitUntil(lambda: str(state.slice.component) == "data" and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    shown, started, drawn = state.landscape, [], []
    start = state.jobs.start
    state.jobs.start = lambda kind, job: (started.append(kind), start(kind, job))[1]
    state.landscape_ready.connect(lambda final: drawn.append("slice"))
    state.contours_ready.connect(lambda landscape, lines: drawn.append("contours"))
    window.model_panel.lam.setValue(0.05)
    qtbot.waitUntil(lambda: state.problem.lam == 0.05 and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    assert state.landscape is shown and drawn == []
    assert "reg" in started and "slice" not in started and "contours" not in started


def test_adding_and_removing_a_method_updates_legend_and_curves(qtbot, window):
    state = window.state
    qtbot.mouseClick(window.optimizers_panel.add_button, QtCore.Qt.MouseButton.LeftButton)
    assert len(state.optimizers) == 5 and window.optimizers_panel.list.count() == 5
    wait_for_runs(qtbot, window)
    assert len(window.heatmap.legend.items) == 5 and len(window.curves.curve_ids) == 5
    new_id = state.optimizers[-1].id
    assert window.curves.curve_data(new_id, "loss")[0].size == state.race.steps + 1
    window.optimizers_panel.list.setCurrentRow(0)
    removed = state.optimizers[0].id
    qtbot.mouseClick(window.optimizers_panel.remove_button, QtCore.Qt.MouseButton.LeftButton)
    assert removed not in window.heatmap.trails
    # the curves follow the state a few ms later (gui.pacing)
    qtbot.waitUntil(lambda: removed not in window.curves.curve_ids, timeout=UI_TIMEOUT_MS)
    assert not window.curves.curve_data(removed, "loss")[0].size
    assert len(window.heatmap.legend.items) == 4 and len(state.runs) == 4


def test_unticking_a_method_hides_it(qtbot, window):
    item = window.optimizers_panel.list.item(1)
    entry_id = item.data(QtCore.Qt.ItemDataRole.UserRole)
    item.setCheckState(QtCore.Qt.CheckState.Unchecked)
    assert window.optimizers_panel.list.item(1).checkState() == QtCore.Qt.CheckState.Unchecked
    assert entry_id not in window.state.runs
    # the figures follow within a frame (with the runs' next redraw)
    qtbot.waitUntil(lambda: entry_id not in window.heatmap.trails, timeout=UI_TIMEOUT_MS)
    assert len(window.heatmap.legend.items) == 3


def test_a_malformed_csv_shows_an_error_and_keeps_everything(qtbot, window, tmp_path, monkeypatch):
    bad = tmp_path / "broken.csv"
    bad.write_text("1,2,0\n3,4\n5,6,1\n")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), "Data (*.csv *.npz)"))
    state = window.state
    picture, dataset = state.landscape, state.problem.dataset
    qtbot.mouseClick(window.data_panel.open_file_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.error_dialog is not None and window.error_dialog.isVisible(),
                    timeout=SCENE_TIMEOUT_MS)
    assert "line 2 has 2 fields but line 1 has 3" in window.error_dialog.text()
    assert "Error" in window.status_message.text()
    assert state.problem.dataset == dataset and window.data_panel.dataset.currentData() == dataset
    assert state.landscape is picture and state.objective.train.name == dataset
    window.error_dialog.close()


def test_opening_a_good_csv_through_the_menu(qtbot, window, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "two.csv"
    path.write_text("a,b,c,label\n" + "\n".join(f"{r[0]},{r[1]},{r[2]},{'yes' if k else 'no'}"
                                                 for r, k in zip(X, y)))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    old = window.state.landscape
    window.open_action.trigger()
    wait_for_new_landscape(qtbot, window.state, old)
    assert window.state.objective.param_shape == (2, 4)
    assert window.data_panel.dataset.currentText() == "two.csv"
    wait_for_runs(qtbot, window)


def test_a_diverging_learning_rate_shows_a_diverged_mark(qtbot, window):
    panel = window.optimizers_panel
    panel.list.setCurrentRow(0)
    entry_id = window.state.optimizers[0].id
    panel.lr.setValue(1000.0)
    qtbot.waitUntil(lambda: entry_id in window.state.runs and window.state.runs[entry_id].diverged_at is not None,
                    timeout=SCENE_TIMEOUT_MS)
    run = window.state.runs[entry_id]
    assert np.all(np.isfinite(run.loss)) and np.all(np.isfinite(run.a))
    window.state.set_frame(window.state.race.steps)
    labels = [label.text for _, label in window.heatmap.legend.items]
    assert any("diverged at step" in text for text in labels)
    assert window.heatmap.heads[entry_id].symbol == "x"  # the path ends with a cross
    wait_for_runs(qtbot, window)


def test_in_plane_mode_puts_paths_on_the_slice(qtbot, window):
    assert window.state.race.in_plane  # the default race runs in the plane: untick, then tick again
    qtbot.mouseClick(window.optimizers_panel.in_plane, QtCore.Qt.MouseButton.LeftButton)
    assert not window.state.race.in_plane
    wait_for_runs(qtbot, window)
    assert all(np.any(run.off_plane > 0) for run in window.state.runs.values())
    qtbot.mouseClick(window.optimizers_panel.in_plane, QtCore.Qt.MouseButton.LeftButton)
    assert window.state.race.in_plane
    wait_for_runs(qtbot, window)
    for run in window.state.runs.values():
        assert np.all(run.off_plane == 0)
    assert "off-plane 0%" in window.heatmap.info.text()


def test_changing_range_and_component_recomputes(qtbot, window):
    state = window.state
    old = state.landscape
    window.landscape_panel.extent.setValue(2.0)
    wait_for_new_landscape(qtbot, state, old)
    assert state.landscape.alphas[0] == -2.0
    old = state.landscape
    combo = window.landscape_panel.component
    combo.setCurrentIndex(combo.findData("accuracy"))
    wait_for_new_landscape(qtbot, state, old)
    assert 0 <= state.landscape.values.min() and state.landscape.values.max() <= 1
    wait_for_runs(qtbot, window)


def test_center_on_a_methods_current_position(qtbot, window):
    state = window.state
    state.set_playing(False)
    state.set_frame(40)  # of the small scene's 60 steps
    entry = state.optimizers[3]
    expected = state.runs[entry.id].thetas[40].copy()
    combo = window.landscape_panel.center
    combo.setCurrentIndex(combo.findData(f"run:{entry.id}"))
    qtbot.waitUntil(lambda: state.plane is not None and np.array_equal(state.plane.center, expected),
                    timeout=SCENE_TIMEOUT_MS)
    assert "at step 40" in state.plane.info["center"]
    wait_for_runs(qtbot, window)
    assert combo.currentData() == f"run:{entry.id}"
    assert state.landscape.values[middle(state.landscape)] == pytest.approx(state.objective.loss(expected), rel=1e-12)
    combo.setCurrentIndex(combo.findData("trained"))  # back to the trained centre
    qtbot.waitUntil(lambda: state.custom_center is None and state.plane is not None
                    and not np.array_equal(state.plane.center, expected), timeout=SCENE_TIMEOUT_MS)
    wait_for_runs(qtbot, window)


def test_mouse_over_the_heatmap_shows_a_crosshair_and_readout(qtbot, window):
    figure = window.heatmap.figure
    # (0.3, -0.5) is a grid point: pixel rounding cannot move it into a neighbouring cell
    point = QtCore.QPointF(figure.mapFromScene(window.heatmap.scene_position_of(0.3, -0.5)))
    viewport = figure.viewport()
    # a hover move as the window system delivers it (QTest.mouseMove moves no pointer offscreen)
    move = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, point, viewport.mapToGlobal(point),
                             QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton,
                             QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(viewport, move)
    qtbot.waitUntil(lambda: window.readout.text().startswith("a = "), timeout=UI_TIMEOUT_MS)
    fields = dict(part.split(" = ") for part in window.readout.text().split(", "))
    assert float(fields["a"]) == pytest.approx(0.3, abs=0.005) and float(fields["b"]) == pytest.approx(-0.5, abs=0.005)
    value = float(fields["loss (data + regularization)"])
    assert value == pytest.approx(window.heatmap.value_at(0.3, -0.5), rel=1e-5)  # shown to 6 digits
    vertical, horizontal = window.heatmap.crosshair
    assert vertical.value() == pytest.approx(0.3, abs=0.005) and horizontal.value() == pytest.approx(-0.5, abs=0.005)


def test_export_png_and_svg(qtbot, window, tmp_path, monkeypatch):
    png = window.export_view(tmp_path / "view.png", width=800)
    image = QtGui.QImage(str(png))
    assert image.width() == 800
    svg_path = tmp_path / "view.svg"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(svg_path), ""))
    window.export_svg_action.trigger()
    text = svg_path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_screenshot_is_not_blank(qtbot, window):
    image = window.grab().toImage()
    colors = {image.pixel(x, y) for x in range(0, image.width(), 17) for y in range(0, image.height(), 17)}
    assert len(colors) > 50


def test_help_formulas_and_view_menu(qtbot, window):
    window.show_formulas()
    assert "Adam" in window._formulas.text() and "SVM" in window._formulas.text()
    window._formulas.close()
    dock = window.docks["Optimizers"]
    dock.toggleViewAction().trigger()
    assert not dock.isVisible()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()


def test_settings_are_remembered(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "hillwalk.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("scene", json.dumps(small_session().to_dict()))  # a small scene left by an earlier run
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    qtbot.waitUntil(first.scene_complete, timeout=SCENE_TIMEOUT_MS)
    first.state.set_race(steps=120)
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.state.race.steps == 120 and second.optimizers_panel.steps.value() == 120
    qtbot.waitUntil(second.scene_complete, timeout=SCENE_TIMEOUT_MS)
    second.close()


def small_scene_settings(tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "hillwalk.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("scene", json.dumps(small_session().to_dict()))
    return settings


def test_the_scene_is_computed_once_the_window_has_painted(qtbot, tmp_path, monkeypatch):
    """The window paints before its scene is computed: started with the window, the worker
    held the interpreter during the window's first layout and paint. (The latest start, for
    a window never shown, is put off here, so that only the paint can start it; that window
    computes its scene too: test_settings_are_remembered.)"""
    import hillwalk.gui.main_window as main_window_module
    from hillwalk.gui.pacing import paint_in_own_turn

    monkeypatch.setattr(main_window_module, "SCENE_START_LATEST_MS", 600_000)
    window = MainWindow(settings=small_scene_settings(tmp_path))
    qtbot.addWidget(window)
    assert window.state.objective is None and not window.state.jobs.live   # nothing computing yet
    with qtbot.waitSignal(paint_in_own_turn(window).window_painted, timeout=UI_TIMEOUT_MS):
        window.show()
    assert window.state.jobs.live or window.state.objective is not None
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.close()


def test_a_change_made_before_the_scene_starts_is_kept(qtbot, tmp_path, monkeypatch):
    """A setting changed between the window's construction and its first paint is what gets
    computed: the deferred start does not request the scene over it (here the change's
    data are still loading when the window paints)."""
    import threading

    import hillwalk.gui.state as state_module
    from hillwalk.gui.pacing import paint_in_own_turn

    loads, release = [], threading.Event()
    load = state_module.objective_and_plane

    def first_load_waits(*arguments, **keywords):
        loads.append(1)
        if len(loads) == 1:
            release.wait(SCENE_TIMEOUT_MS / 1000)
        return load(*arguments, **keywords)

    monkeypatch.setattr(state_module, "objective_and_plane", first_load_waits)
    window = MainWindow(settings=small_scene_settings(tmp_path))
    qtbot.addWidget(window)
    window.state.set_problem(lam=0.25)
    with qtbot.waitSignal(paint_in_own_turn(window).window_painted, timeout=UI_TIMEOUT_MS):
        window.show()
    release.set()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert window.state.problem.lam == 0.25 and window.state.objective.regularizer.lam == 0.25
    window.close()


def test_a_lab_computing_before_the_first_paint_does_not_hold_the_scene_back(qtbot, tmp_path, monkeypatch):
    """Only a new problem or a session asked for before the first paint stands in for the
    initial scene: a lab's job still running then (the Loss lab, which needs no scene, held
    here until after the paint) does not, and the scene is computed all the same."""
    import threading

    from hillwalk.core.labs import tasks
    from hillwalk.gui.pacing import paint_in_own_turn

    release = threading.Event()
    example = tasks.loss_example_task

    def held_example(*arguments, **keywords):
        release.wait(SCENE_TIMEOUT_MS / 1000)
        return example(*arguments, **keywords)

    monkeypatch.setattr(tasks, "loss_example_task", held_example)
    window = MainWindow(settings=small_scene_settings(tmp_path))
    qtbot.addWidget(window)
    window.state.labs.request("loss")
    try:
        with qtbot.waitSignal(paint_in_own_turn(window).window_painted, timeout=UI_TIMEOUT_MS):
            window.show()
        assert window.state.jobs.is_live("problem") or window.state.objective is not None
    finally:
        release.set()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.close()


def test_an_idle_window_builds_its_lab_pages_ahead_without_computing_them(qtbot, window):
    """A lab's page was built when its tab was first clicked: 15-90 ms of the GUI thread
    idle, 60-400 ms on a loaded machine, while the person waited. An idle window (nothing
    computing, playing or drawing) now builds them ahead, one at a time; hidden, they
    compute nothing until shown. While the race plays none is built."""
    from hillwalk.gui.main_window import NOT_PREBUILT_LABS

    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    state.set_frame(0)
    state.set_playing(True)
    while state.playing:   # (the race plays to its end: about a second of this scene's)
        assert window.labs.built() == {}
        qtbot.wait(20)
    expected = [name for name in window.labs if name not in NOT_PREBUILT_LABS]
    qtbot.waitUntil(lambda: list(window.labs.built()) == expected, timeout=UI_TIMEOUT_MS)
    assert all(state.labs.result(lab.lab) is None and not state.labs.busy(lab.lab)
               for lab in window.labs.built().values())
    assert not state.jobs.live
    # a lab built ahead is computed when shown
    lab = window.labs.built()["Step size"]
    window.show_lab("Step size")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=SCENE_TIMEOUT_MS)


def test_the_window_imports_the_labs_computations_and_the_exporters_when_used():
    """Importing the window imports none of the labs' computations (their pages are built
    when first shown) nor pyqtgraph's exporters (File > Export): 16 ms of the start. The
    lab panels' constants still come from gui.lab_state, from their lab's module."""
    import subprocess
    import sys

    lazy = ("hillwalk.core.labs.tasks", "hillwalk.core.labs.hyperparameter_search", "hillwalk.core.labs.babysitting",
            "hillwalk.core.labs.lessons", "hillwalk.core.labs.gradcheck", "pyqtgraph.exporters")
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; import hillwalk.gui.main_window; "
            f"print([name for name in {lazy!r} if name in sys.modules])")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]"
    import importlib

    from hillwalk.gui import lab_state

    for module, names in lab_state.FOR_LAB_PANELS.items():
        for name in names:
            assert getattr(lab_state, name) is getattr(importlib.import_module(f"hillwalk.core.labs.{module}"), name)
    assert lab_state.BABYSIT_METHOD_LABELS["momentum"] == "SGD + momentum"
    with pytest.raises(AttributeError):
        lab_state.NO_SUCH_CONSTANT  # noqa: B018


def test_the_gui_thread_keeps_processing_events_during_a_large_slice(qtbot):
    """Where the work runs: a 401 x 401 slice of a softmax classifier with CIFAR's 3072
    features computes in a worker while a timer on the GUI thread keeps firing and a queued
    callback runs (what holds on any machine; the longest gap between ticks, on CIFAR's
    10000 examples, is measured by benchmarks/bench_responsiveness.py, case cifar-401, not
    asserted here). 2000 examples take the same code path as 10000 (the factorized softmax
    over row blocks) in a fifth of the time and memory."""
    rng = np.random.default_rng(0)
    n, d = 2000, 3072
    data = Dataset(rng.integers(0, 256, (n, d)).astype(np.float64) - 128.0, rng.integers(0, 10, n),
                   tuple(str(k) for k in range(10)), tuple(f"x{k}" for k in range(d)), {"name": "cifar-sized"})
    objective = LinearClassifier(data, loss="softmax", regularizer=Regularizer("l2", 1e-3))
    win = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win, timeout=UI_TIMEOUT_MS)
    state = win.state
    state.objective = objective
    state.slice = SliceSpec(center="init", grid=401, init_scale=1e-4)
    state.plane = random_plane(objective, objective.initial_theta(1e-4, 0), "filter", seed=1)
    ticks_while_computing = []

    def tick():
        if state.jobs.is_live("slice"):
            ticks_while_computing.append(True)

    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    state._request_slice()
    ran = []
    QtCore.QTimer.singleShot(0, lambda: ran.append(state.jobs.is_live("slice")))
    qtbot.waitUntil(lambda: state.landscape is not None, timeout=LONG_WORK_TIMEOUT_MS)
    timer.stop()
    assert state.landscape.values.shape == (401, 401)
    assert ran == [True], "a callback queued on the GUI thread did not run while the slice computed"
    assert len(ticks_while_computing) >= 3, "the GUI thread did not process timer events while the slice computed"
    win.close()


def test_cut_markers_sit_on_their_curves_in_log_scale(qtbot, window):
    state = window.state
    window.landscape_panel.scale.setCurrentIndex(window.landscape_panel.scale.findData(True))
    qtbot.waitUntil(lambda: state.view.log_scale, timeout=UI_TIMEOUT_MS)
    window.scrub.setValue(50)   # as a person drags it: the race stops playing at step 50
    assert state.frame == 50 and not state.playing
    qtbot.waitUntil(window.scene_complete, timeout=UI_TIMEOUT_MS)   # the cut follows the state a few ms later
    for entry_id in window.cut_panel.heads:
        run = state.runs[entry_id]
        row = int(np.searchsorted(run.steps, 50, side="right")) - 1
        y = window.cut_panel.markers.head_position(entry_id)[1]
        assert y == pytest.approx(np.log10(run.loss[row]))  # log10 units, like the curve's


def test_a_new_learning_rate_relabels_the_legend_once_and_in_place(qtbot, window):
    """Typing a learning rate changes the method's legend label: the figures redraw it with
    the restarted run (not once more inside the key press), and the legend's labels are
    relabelled, not rebuilt."""
    legend = window.heatmap.legend
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    labels_before = [label for _sample, label in legend.items]
    old_texts = [label.text for label in labels_before]
    box = window.optimizers_panel.lr
    selected = window.optimizers_panel._selected_entry()
    new_lr = "0.0123"   # in no label yet
    assert not any(new_lr in text for text in old_texts)
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), new_lr)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    assert selected.spec.lr == pytest.approx(float(new_lr))
    assert [label.text for label in labels_before] == old_texts   # not redrawn inside the key press
    qtbot.waitUntil(lambda: any(f"lr {new_lr}" in label.text for _sample, label in legend.items),
                    timeout=UI_TIMEOUT_MS)
    assert [label for _sample, label in legend.items] == labels_before   # the same label items
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_restarted_method_redraws_only_its_own_paths(qtbot, window):
    """A new learning rate restarts one method: its path is drawn again as it comes in,
    while the other methods' trails and curves, unchanged, are not set again at every update."""
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.scrub.setValue(window.scrub.maximum())   # the race shown to its end, as a person drags it
    # (and the cut and the curves, which follow the state a few ms later, have drawn it)
    qtbot.waitUntil(lambda: not state.playing and window.scene_complete(), timeout=UI_TIMEOUT_MS)
    selected = window.optimizers_panel._selected_entry()
    others = [entry.id for entry in state.optimizers if entry.enabled and entry.id != selected.id]
    changed = {}

    def watch(name, item):
        changed.setdefault(name, 0)
        item.sigPlotChanged.connect(lambda *_: changed.__setitem__(name, changed[name] + 1))

    loss_layer = window.curves.layers["loss"]
    set_part = loss_layer.set_part

    def counted_set_part(key, x, y):   # the curves are parts of one layer a plot
        entry_id, _name = key
        changed[("curves", entry_id)] = changed.get(("curves", entry_id), 0) + 1
        set_part(key, x, y)

    loss_layer.set_part = counted_set_part
    for entry_id in others + [selected.id]:
        watch(("heatmap", entry_id), window.heatmap.markers.trails[entry_id])
        watch(("cut", entry_id), window.cut_panel.markers.trails[entry_id])
        changed[("curves", entry_id)] = 0
    box = window.optimizers_panel.lr
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.0123")
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: state.runs[selected.id].finished and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    wait_for_frames(qtbot, window)
    assert all(changed[(view, selected.id)] > 0 for view in ("heatmap", "cut", "curves"))
    assert {key: count for key, count in changed.items() if key[1] != selected.id and count} == {}


def test_labels_that_change_at_every_frame_do_not_lay_the_window_out(qtbot, window):
    """The step readout has a fixed size and the heatmap's note on in-plane paths keeps one
    text while the race plays: a label whose size may change asks the whole window to lay
    itself out again at every frame."""
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    step = window.step_label
    assert step.minimumSize() == step.maximumSize()
    assert step.fontMetrics().horizontalAdvance("step 100000 / 100000") <= step.width()
    texts = set()
    for frame in (state.race.steps // 6, state.race.steps // 2, state.race.steps):
        window.scrub.setValue(frame)   # as a person drags the slider
        assert state.frame == frame and step.text() == f"step {frame} / {state.race.steps}"
        texts.add(window.heatmap.info.text())
    assert len(texts) == 1 and "every path lies in the plane" in texts.pop()


def test_heads_are_drawn_above_the_start_marker_and_the_trails(qtbot, window):
    """A method that has barely left the start (a flat landscape, a tiny rate) still shows
    its head: the heads and rings lie above the white start square and above every trail."""
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    markers, start = window.heatmap.markers, window.heatmap.start_marker
    for entry_id, head in markers.heads.items():
        assert head.zValue() > start.zValue()
        assert head.zValue() > max(markers.trails[entry_id].zValue(), markers.settled.zValue())
        assert markers.rings[entry_id].zValue() > start.zValue()


@pytest.mark.scene("small_digits_session")
def test_slices_shared_among_threads_give_one_threads_values_and_end_cleanly(qtbot, window):
    """As the app runs them (``main.use_all_cores``): a softmax slice's example chunks on two
    workers. Three new ranges typed in a row cancel the slices before them; the last one's
    values are one thread's, and no slice thread outlives its job (the fixture checks)."""
    from hillwalk.core.landscapes.landscape import Parallelism, compute_slice, set_parallelism
    from hillwalk.main import SharedBlasLimit

    previous = set_parallelism(Parallelism(2, SharedBlasLimit()))
    try:
        state = window.state
        for extent in (2.0, 3.0, 1.5):
            window.landscape_panel.extent.setValue(extent)
        qtbot.waitUntil(lambda: state.landscape is not None and state.landscape.alphas[0] == -1.5,
                        timeout=SCENE_TIMEOUT_MS)
        wait_for_runs(qtbot, window)
        landscape = state.landscape
        assert landscape.method == "fast"
        set_parallelism(Parallelism(1))
        serial = compute_slice(state.objective, landscape.plane, landscape.alphas, landscape.betas,
                               landscape.component)
    finally:
        set_parallelism(previous)
    np.testing.assert_array_equal(landscape.values, serial.values)
