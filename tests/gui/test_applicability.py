"""Only what applies: controls that mean nothing for the objective are disabled and say
why; a setting the objective cannot honour is refused with exactly one message and the
state stays as it was."""
from dataclasses import replace

import pytest
from PyQt6 import QtCore

from hillwalk.core.io.session import Session
from hillwalk.core.optimization.optimizers import OptimizerSpec
from hillwalk.gui.main_window import MainWindow, preset_paths
from hillwalk.gui.panels.widgets import run_ending_note
from tests.gui.conftest import SCENE_TIMEOUT_MS, wait_for_frames


def small_session(title_start, steps=40, **problem_changes):
    """A shipped preset made small: a 51 x 51 slice and few steps per method."""
    path = next(p for p in preset_paths() if Session.load(p).title.startswith(title_start))
    session = Session.load(path)
    return replace(session, problem=replace(session.problem, **problem_changes),
                   slice=replace(session.slice, grid=51), race=replace(session.race, steps=steps))


@pytest.fixture
def open_session(qtbot):
    """Open a session in a fresh window and wait for its scene; collect every error shown."""
    windows = []

    def opener(session):
        window = MainWindow(settings=None, autostart=False)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        window.errors = []
        window.state.error.connect(window.errors.append)
        window.apply_session(session)
        qtbot.waitUntil(lambda: window.state.objective is not None and window.scene_complete(),
                        timeout=SCENE_TIMEOUT_MS)
        windows.append(window)
        return window

    yield opener
    for window in windows:
        window.close()


def settle(qtbot, window):
    """Let any work a change started finish (and any late error arrive)."""
    wait_for_frames(qtbot, window, 2)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_on_a_2d_function_regularization_and_components_are_disabled_or_refused_once(qtbot, open_session):
    window = open_session(small_session("The race on Beale"))
    state, model, landscape = window.state, window.model_panel, window.landscape_panel
    problem, slice_spec = state.problem, state.slice

    # every model and regularization control is disabled and says why
    for widget in (model.regularizer, model.lam, model.beta, model.regularize_bias, model.loss, model.model):
        assert not widget.isEnabled()
        assert "Disabled:" in widget.toolTip() and "2-D test function" in widget.toolTip()
    # a person typing into lambda changes nothing
    qtbot.keyClicks(model.lam, "0.5")
    qtbot.keyClick(model.lam, QtCore.Qt.Key.Key_Return)
    assert state.problem == problem and window.errors == []

    # the Show combo offers only the total: the other items are disabled, keys skip them
    combo = landscape.component
    for kind in ("data", "reg", "accuracy", "example"):
        item = combo.model().item(combo.findData(kind))
        assert not item.isEnabled(), kind
        assert "only a total loss" in combo.itemData(combo.findData(kind), QtCore.Qt.ItemDataRole.ToolTipRole)
    combo.setFocus()
    for _ in range(4):
        qtbot.keyClick(combo, QtCore.Qt.Key.Key_Down)
    assert combo.currentData() == "total" and state.slice == slice_spec and window.errors == []
    # centre, directions and plane seed mean nothing for the function's own plane
    for widget in (landscape.center, landscape.directions, landscape.plane_seed, landscape.retrain):
        assert not widget.isEnabled() and "own x and y are the plane" in widget.toolTip()

    # a change that reaches the state anyway (a script, a stale control) is refused: one message each
    for change in ({"lam": 0.5}, {"regularizer": "l1"}, {"beta": 2.0}, {"regularize_bias": True}):
        before = len(window.errors)
        state.set_problem(**change)
        settle(qtbot, window)
        assert len(window.errors) == before + 1, change
        assert "no effect on the beale function" in window.errors[-1]
        assert state.problem == problem and state.slice == slice_spec
    for component in ("data", "reg", "accuracy", "example:0"):
        before = len(window.errors)
        state.set_slice(component=component)
        settle(qtbot, window)
        assert len(window.errors) == before + 1, component
        assert state.problem == problem and state.slice == slice_spec
    assert window.error_dialog is not None and window.error_dialog.isVisible()
    assert window.error_dialog.text() == window.errors[-1]

    # the refusals did not stick: a change that applies goes through with no message
    errors = len(window.errors)
    landscape.extent.setFocus()
    landscape.extent.selectAll()
    qtbot.keyClicks(landscape.extent, "3")
    qtbot.keyClick(landscape.extent, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: state.slice.alpha_range == (-3.0, 3.0), timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert len(window.errors) == errors
    assert state.landscape.alphas[0] == -3.0


def test_bad_race_and_view_values_are_reported_not_raised(qtbot, open_session):
    window = open_session(small_session("The race on Beale"))
    state = window.state
    race, view = state.race, state.view
    state.set_race(steps=0)
    state.set_view(contours=500)
    settle(qtbot, window)
    assert len(window.errors) == 2
    assert "steps" in window.errors[0] and "contours" in window.errors[1]
    assert state.race == race and state.view == view


def test_the_optimizer_panel_enables_only_the_selected_methods_settings(qtbot, open_session):
    window = open_session(small_session("The race on Beale"))
    panel, state = window.optimizers_panel, window.state
    adam_row = next(k for k, e in enumerate(state.optimizers) if e.spec.method == "adam")
    rect = panel.list.visualItemRect(panel.list.item(adam_row))
    qtbot.mouseClick(panel.list.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.method.currentData() == "adam"
    assert not panel.momentum.isEnabled() and not panel.alpha.isEnabled()
    assert "Adam does not use it" in panel.momentum.toolTip() and "SGD + momentum" in panel.momentum.toolTip()
    assert panel.beta1.isEnabled() and panel.beta2.isEnabled() and panel.eps.isEnabled()
    # a 2-D function has no examples: the batch size is disabled for every method
    assert not panel.batch.isEnabled() and "no examples to sample" in panel.batch.toolTip()
    assert not panel.in_plane.isEnabled()

    # choosing SGD + momentum in the method combo, by keyboard
    panel.method.setFocus()
    while panel.method.currentData() != "momentum":
        qtbot.keyClick(panel.method, QtCore.Qt.Key.Key_Up)
    settle(qtbot, window)
    entry = state.optimizers[adam_row]
    assert entry.spec.method == "momentum" and entry.spec.effective_momentum == 0.9
    assert panel.momentum.isEnabled() and not panel.beta1.isEnabled() and not panel.eps.isEnabled()
    assert window.errors == []

    # a setting the method does not use is refused by the state with one message
    state.update_optimizer(entry.id, spec=entry.spec.with_changes(beta1=0.5))
    settle(qtbot, window)
    assert len(window.errors) == 1 and "Beta1 has no effect on SGD + momentum" in window.errors[0]
    assert state.entry(entry.id).spec.beta1 == 0.9


def test_on_a_classifier_the_rules_follow_the_model_loss_and_regularizer(qtbot, open_session):
    window = open_session(small_session("The race on Beale", objective="classifier", dataset="iris"))
    model, state = window.model_panel, window.state
    assert model.regularizer.isEnabled() and model.lam.isEnabled() and model.regularize_bias.isEnabled()
    assert not model.beta.isEnabled() and "elastic net only" in model.beta.toolTip()
    assert not model.hidden.isEnabled() and "two-layer network" in model.hidden.toolTip()
    assert not model.delta.isEnabled()  # softmax
    combo = window.landscape_panel.component
    assert all(combo.model().item(k).isEnabled() for k in range(combo.count()))
    assert window.optimizers_panel.batch.isEnabled()

    model.regularizer.setFocus()
    while model.regularizer.currentData() != "none":
        qtbot.keyClick(model.regularizer, QtCore.Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: state.problem.regularizer == "none", timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert not model.lam.isEnabled() and "no regularizer is chosen" in model.lam.toolTip()
    assert not model.regularize_bias.isEnabled()
    while model.regularizer.currentData() != "elastic":
        qtbot.keyClick(model.regularizer, QtCore.Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: state.problem.regularizer == "elastic", timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert model.lam.isEnabled() and model.beta.isEnabled()
    assert window.errors == []


def test_a_saddle_escape_is_labelled_unbounded_below(qtbot, open_session):
    session = small_session("A saddle", steps=150)  # SGD at lr 0.1 passes the floor near step 76
    session = replace(session, optimizers=[replace(session.optimizers[0], spec=OptimizerSpec("sgd", lr=0.1))])
    window = open_session(session)
    run = next(iter(window.state.runs.values()))
    assert run.diverged_at is None and run.escaped_at is not None
    assert run_ending_note(run) == f" (unbounded below: escaped at step {run.escaped_at})"
