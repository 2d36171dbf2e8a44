"""Curvature in the window (issue 15): the Hessian directions, second-order methods in the
race, the Curvature lab."""
import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.curvature import lanczos
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS


@pytest.mark.parametrize("kind, text", [("hessian", "Hessian top eigenvector"),
                                        ("minmax", "Hessian largest eigenvector")])
def test_choosing_hessian_directions_recomputes_the_slice_with_eigenvalues_on_the_axes(qtbot, window, kind, text):
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    old = state.landscape
    combo = window.landscape_panel.directions
    combo.setFocus()
    combo.setCurrentIndex(combo.findData(kind))
    qtbot.keyClick(combo, QtCore.Qt.Key.Key_Tab)   # the person moves on
    qtbot.waitUntil(lambda: state.landscape is not None and state.landscape is not old
                    and state.landscape.plane.info.get("kind") == "hessian", timeout=SCENE_TIMEOUT_MS)
    plane = state.plane
    top = lanczos(state.objective, plane.center, k=1, seed=plane.info["seed"]).eigenvalues[0]
    assert plane.info["eigenvalue1"] == pytest.approx(top, rel=1e-6)
    bottom_label = window.heatmap.figure.plot.getAxis("bottom").labelText
    assert text in bottom_label and f"lambda = {plane.info['eigenvalue1']:.4g}" in bottom_label
    assert not window.landscape_panel.orthogonalize.isEnabled()   # orthogonal by construction
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_adding_a_second_order_method_to_the_race_draws_its_path(qtbot, window, method):
    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    qtbot.mouseClick(panel.add_button, QtCore.Qt.MouseButton.LeftButton)
    panel.list.setCurrentRow(panel.list.count() - 1)
    panel.method.setCurrentIndex(panel.method.findData(method))
    entry = state.optimizers[-1]
    qtbot.waitUntil(lambda: state.optimizers[-1].spec.method == method, timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    # no learning rate for a second-order method; its own setting instead
    assert not panel.lr.isEnabled()
    assert panel.damping.isEnabled() == (method == "newton") and panel.history.isEnabled() == (method == "lbfgs")
    run = state.runs[entry.id]
    assert run.finished and run.diverged_at is None
    trail = window.heatmap.trails[entry.id]
    xs, ys = trail.getData()
    assert xs is not None and len(xs) > 1                 # its path is drawn on the slice
    # it descends (full batch on iris, in the plane): below where it started
    assert run.loss.size == state.race.steps + 1 and run.loss[-1] < run.loss[0]


def test_the_curvature_lab_computes_what_core_computes_and_races_across_the_bound(qtbot, window):
    from hillwalk.core.labs import tasks

    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    lab = window.labs["Curvature"]
    window.show_lab("Curvature")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    report = lab.result
    # the same numbers as the core task at the slice's centre
    again = tasks.curvature_task(state.objective, state.plane.center, 5, 1, 64, True, None, state.slice.seed)
    np.testing.assert_allclose(report.top, again.top, rtol=1e-12)
    assert report.lambda_min == pytest.approx(again.lambda_min, rel=1e-9)
    assert f"{report.lambda_max:.6g}" in lab.summary.text() and f"{report.largest_stable_lr:.4g}" in lab.summary.text()
    xs, ys = lab.along_curve.getData()
    assert xs.size == tasks.CURVATURE_LINE_POINTS
    # the default cut passes through the centre (s = 0): there u^T H u <= lambda_max
    assert ys[np.argmin(np.abs(xs))] <= report.lambda_max * (1 + 1e-9)
    assert lab.density_curve.getData()[0].size > 0
    # one click: two full-batch gradient descents just below and above 2 / lambda_max
    before = len(state.optimizers)
    qtbot.mouseClick(lab.race_button, QtCore.Qt.MouseButton.LeftButton)
    added = state.optimizers[before:]
    assert [e.spec.lr for e in added] == pytest.approx([0.95 * report.largest_stable_lr,
                                                        1.05 * report.largest_stable_lr])
    assert all(e.spec.method == "sgd" and e.spec.batch_size is None for e in added)
    assert not state.race.in_plane
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


@pytest.mark.parametrize("name", ["15-newton", "16-lbfgs-minibatches"])
def test_the_second_order_presets_load_and_compute(qtbot, window, name):
    from hillwalk.gui.main_window import preset_paths, preset_title

    path = next(p for p in preset_paths() if p.name.startswith(name))
    action = next(a for a in window.presets_menu.actions() if a.text() == preset_title(path))
    action.trigger()
    state = window.state
    qtbot.waitUntil(lambda: state.title == preset_title(path) and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    assert window.caption_box.isVisible()
    assert all(run.finished and run.diverged_at is None for run in state.runs.values())
    methods = {entry.spec.method for entry in state.optimizers}
    assert "lbfgs" in methods
    if name == "16-lbfgs-minibatches":
        assert state.plane.info["kind"] == "hessian" and not state.race.in_plane


def test_the_step_size_lab_marks_two_over_lambda_max(qtbot, window):
    from hillwalk.core.labs import tasks

    state = window.state
    lab = window.labs["Step size"]
    window.show_lab("Step size")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    theta = tasks.evaluation_point(state.objective, state.plane, lab.point.currentData(), tuple(state.race.start),
                                   state.slice.init_scale, state.slice.seed)
    expected = lanczos(state.objective, theta, k=1, seed=state.slice.seed).eigenvalues[0]
    assert lab.result.lambda_max == pytest.approx(expected, rel=1e-9)
    assert lab.bound_line.isVisible() and lab.bound_line.value() == pytest.approx(np.log10(2 / expected))
    assert "2 / lambda_max" in lab.status.text()


def test_the_curves_can_be_drawn_against_gradient_evaluations(qtbot, window, tmp_path):
    state, panel, curves = window.state, window.optimizers_panel, window.curves
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    qtbot.mouseClick(panel.add_button, QtCore.Qt.MouseButton.LeftButton)
    panel.list.setCurrentRow(panel.list.count() - 1)
    panel.method.setCurrentIndex(panel.method.findData("lbfgs"))
    entry = state.optimizers[-1]
    qtbot.waitUntil(lambda: state.optimizers[-1].spec.method == "lbfgs" and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    steps_x = curves.curve_data(entry.id, "loss")[0]
    window.curves_by_work_action.trigger()            # View > Curves against gradient evaluations
    assert state.view.curves_x == "gradients" and window.curves_by_work_action.isChecked()
    run = state.runs[entry.id]
    work_x = curves.curve_data(entry.id, "loss")[0]
    # L-BFGS's line search evaluates more than one gradient a step: its curve stretches right
    assert work_x[-1] == run.gradient_evaluations[-1] > steps_x[-1]
    first_order = state.optimizers[0]
    np.testing.assert_array_equal(curves.curve_data(first_order.id, "loss")[0],
                                  state.runs[first_order.id].steps + 1)   # one gradient a step
    assert not any(cursor.isVisible() for cursor in curves.cursors)
    assert curves.gradient_plot.getAxis("bottom").labelText == "gradient evaluations"
    window.save_session(tmp_path / "x.hillwalk.json")
    from hillwalk.core.io.session import Session

    assert Session.load(tmp_path / "x.hillwalk.json").view["curves_x"] == "gradients"


@pytest.mark.scene("small_beale_session")
def test_the_curvature_lab_on_a_two_dimensional_function(qtbot, window):
    lab = window.labs["Curvature"]
    window.show_lab("Curvature")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    hessian = window.state.objective.hessian(lab.result.theta)
    np.testing.assert_allclose(sorted(lab.result.top), sorted(np.linalg.eigvalsh(hessian)), rtol=1e-10,
                               atol=1e-10)
    assert lab.result.top.size == 2


def test_the_readout_shows_the_curvature_under_the_mouse(qtbot, window):
    from hillwalk.core.curvature import plane_hessian

    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.readout_curvature_action.trigger()          # View > Readout: curvature at the crosshair
    assert state.view.readout_curvature
    figure = window.heatmap.figure
    scene_point = window.heatmap.scene_position_of(0.3, -0.2)
    qtbot.mouseMove(figure.viewport(), figure.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: "curvatures in the plane" in window.readout.text(), timeout=SCENE_TIMEOUT_MS)
    a, b = (float(part.split("=")[1]) for part in window.readout.text().split(",")[:2])
    expected = np.linalg.eigvalsh(plane_hessian(state.objective, state.plane.point(a, b), state.plane.dir1,
                                                state.plane.dir2))
    assert f"{expected[1]:.4g}, {expected[0]:.4g}" in window.readout.text()


def click_box(qtbot, box):
    """Click a check box on its indicator (a wide box's middle may be past its text)."""
    qtbot.mouseClick(box, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(8, box.height() // 2))


def _add_method(qtbot, window, method):
    panel = window.optimizers_panel
    qtbot.mouseClick(panel.add_button, QtCore.Qt.MouseButton.LeftButton)
    panel.list.setCurrentRow(panel.list.count() - 1)
    panel.method.setCurrentIndex(panel.method.findData(method))
    qtbot.waitUntil(lambda: window.state.optimizers[-1].spec.method == method, timeout=SCENE_TIMEOUT_MS)
    return window.state.optimizers[-1]


def test_the_saddle_free_and_bias_correction_checkboxes_change_the_run(qtbot, window):
    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    entry = _add_method(qtbot, window, "newton")
    assert panel.saddle_free.isEnabled() and not panel.bias_correction.isEnabled()
    click_box(qtbot, panel.saddle_free)
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.saddle_free, timeout=UI_TIMEOUT_MS)
    assert "saddle-free Newton" in panel.list.currentItem().text()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert state.runs[entry.id].label.startswith("saddle-free Newton")

    adam = next(e for e in state.optimizers if e.spec.method == "adam")
    panel.list.setCurrentRow([e.id for e in state.optimizers].index(adam.id))
    assert panel.bias_correction.isEnabled() and panel.bias_correction.isChecked()
    assert not panel.saddle_free.isEnabled()
    before = state.runs[adam.id]
    click_box(qtbot, panel.bias_correction)
    qtbot.waitUntil(lambda: not state.entry(adam.id).spec.bias_correction, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    after = state.runs[adam.id]
    assert after is not before and after.a[0] == before.a[0] and after.b[0] == before.b[0]
    # within the plane, on the same first minibatch: the uncorrected first step is
    # (1 - beta1) / sqrt(1 - beta2) = 3.16 times the corrected one, along each of a and b
    for coordinate in ("a", "b"):
        old_step = getattr(before, coordinate)[1] - getattr(before, coordinate)[0]
        new_step = getattr(after, coordinate)[1] - getattr(after, coordinate)[0]
        assert new_step / old_step == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-4)


@pytest.mark.scene("small_wide_network_session")
def test_saddle_free_newton_is_refused_where_the_full_hessian_is_too_large(qtbot, window):
    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert state.objective.size > 3000
    entry = _add_method(qtbot, window, "newton")
    assert state.race.in_plane and panel.saddle_free.isEnabled()     # two parameters within the plane
    click_box(qtbot, panel.saddle_free)
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.saddle_free, timeout=UI_TIMEOUT_MS)
    errors = []
    state.error.connect(errors.append)
    click_box(qtbot, panel.in_plane)   # leave the plane: refused
    assert state.race.in_plane and panel.in_plane.isChecked()
    assert len(errors) == 1 and "Saddle-free Newton forms the full Hessian" in errors[0]
    click_box(qtbot, panel.saddle_free)   # off, then leave the plane
    qtbot.waitUntil(lambda: not state.entry(entry.id).spec.saddle_free, timeout=UI_TIMEOUT_MS)
    click_box(qtbot, panel.in_plane)
    qtbot.waitUntil(lambda: not state.race.in_plane, timeout=UI_TIMEOUT_MS)
    panel.list.setCurrentRow([e.id for e in state.optimizers].index(entry.id))
    assert not panel.saddle_free.isEnabled() and "race within the plane" in panel.saddle_free.toolTip()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_the_notes_defaults_and_momenta_are_one_click_away(qtbot, window):
    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    adam = next(e for e in state.optimizers if e.spec.method == "adam")
    panel.list.setCurrentRow([e.id for e in state.optimizers].index(adam.id))
    assert not panel.momentum_choices.isEnabled() and panel.default_styles.isEnabled()
    qtbot.mouseClick(panel.notes_defaults, QtCore.Qt.MouseButton.LeftButton)
    spec = state.entry(adam.id).spec
    assert (spec.effective_eps, spec.beta2) == (1e-7, 0.99) and panel.beta2.value() == 0.99
    qtbot.mouseClick(panel.torch_defaults, QtCore.Qt.MouseButton.LeftButton)
    spec = state.entry(adam.id).spec
    assert (spec.effective_eps, spec.beta2) == (1e-8, 0.999)
    momentum = next(e for e in state.optimizers if e.spec.method == "momentum")
    panel.list.setCurrentRow([e.id for e in state.optimizers].index(momentum.id))
    assert panel.momentum_choices.isEnabled()
    qtbot.mouseClick(panel.momentum_choices.findChild(QtWidgets.QPushButton, "momentum0.99"),
                     QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.entry(momentum.id).spec.effective_momentum == 0.99, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_schedule_can_count_epochs_and_a_session_keeps_it(qtbot, window, tmp_path):
    from hillwalk.core.io.session import Session

    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    sgd = next(e for e in state.optimizers if e.spec.method == "sgd")
    panel.list.setCurrentRow([e.id for e in state.optimizers].index(sgd.id))
    assert not panel.schedule_unit.isEnabled()                      # a constant rate counts nothing
    panel.schedule.setCurrentIndex(panel.schedule.findData("step"))
    assert panel.schedule_unit.isEnabled()
    panel.every.setValue(1)
    panel.schedule_unit.setCurrentIndex(panel.schedule_unit.findData("epochs"))
    qtbot.waitUntil(lambda: state.entry(sgd.id).spec.schedule.unit == "epochs", timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    run = state.runs[sgd.id]
    per_epoch = -(-state.objective.n_train // 64)                   # iris: 120 examples, batch 64: 2 updates
    expected = [0.02 * 0.5 ** (t // per_epoch) for t in range(6)]
    np.testing.assert_allclose(run.lr[:6], expected, rtol=1e-12)
    path = tmp_path / "epochs.hillwalk.json"
    state.session().save(path)
    again = Session.load(path)
    assert next(o for o in again.optimizers if o.spec.method == "sgd").spec.schedule.unit == "epochs"


def test_a_switch_left_behind_by_a_method_change_is_reset_and_a_failing_run_ends(qtbot, window):
    state, panel = window.state, window.optimizers_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    entry = _add_method(qtbot, window, "newton")
    click_box(qtbot, panel.saddle_free)
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.saddle_free, timeout=UI_TIMEOUT_MS)
    panel.method.setCurrentIndex(panel.method.findData("bfgs"))
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.method == "bfgs", timeout=UI_TIMEOUT_MS)
    assert not state.entry(entry.id).spec.saddle_free            # BFGS has no such switch: back to off
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    click_box(qtbot, panel.in_plane)                             # the full space: nothing refuses it now
    qtbot.waitUntil(lambda: not state.race.in_plane, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    # a saddle-free Newton whose model then grows past the full Hessian's size: its run
    # stops with the message, ends, and the rest of the scene completes
    panel.method.setCurrentIndex(panel.method.findData("newton"))
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.method == "newton", timeout=UI_TIMEOUT_MS)
    click_box(qtbot, panel.saddle_free)
    qtbot.waitUntil(lambda: state.entry(entry.id).spec.saddle_free, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    errors = []
    state.error.connect(errors.append)
    state.set_problem(model="net", hidden=(600,))                # iris: 4803 parameters
    qtbot.waitUntil(lambda: state.objective is not None and state.objective.size > 3000, timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert state.runs[entry.id].finished
    assert any("stopped: saddle-free Newton takes the absolute values" in e for e in errors)


def test_the_curvature_plots_and_their_titles_fit_the_page_at_1600_by_1000(qtbot, window):
    """pyqtgraph keeps a plot at least as wide as its title: a long title pushed the right
    plot past the page's edge, which clipped it."""
    window.resize(1600, 1000)
    button = window.page_strip.buttons[window.page_names.index("Curvature")]
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    lab = window.labs["Curvature"]
    page = window.tabs.currentWidget()

    def right_edge(widget):
        return widget.mapTo(page, QtCore.QPoint(widget.width(), 0)).x()

    qtbot.waitUntil(lambda: lab.along_widget.isVisible() and lab.along_widget.width() > 100, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(lambda: right_edge(lab.along_widget) <= page.width(), timeout=UI_TIMEOUT_MS)
    title = lab.along_plot.titleLabel
    assert title.item.boundingRect().width() <= lab.along_widget.width()


def test_an_infinite_condition_number_reads_whole_where_lambda_min_is_not_positive(qtbot):
    """The summary is rich text: "lambda_min <= 0" opened a tag and swallowed the rest of
    the line and the line break (every network's Hessian has such a direction; here the
    saddle's)."""
    from dataclasses import replace

    from PyQt6 import QtGui

    from hillwalk.core.models.problem import ClassifierSpec
    from tests.gui.conftest import open_window
    from tests.gui.scenes import small_session

    window = open_window(qtbot, replace(small_session(), problem=ClassifierSpec(objective="saddle")))
    try:
        lab = window.labs["Curvature"]
        window.show_lab("Curvature")
        qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
        assert lab.result.lambda_min <= 0
        document = QtGui.QTextDocument()
        document.setHtml(lab.summary.text())
        shown = document.toPlainText()
        assert "infinite (lambda_min <= 0: a flat or downward direction)" in shown
        assert "\ntrace " in shown.replace("\u2028", "\n")
    finally:
        window.close()
