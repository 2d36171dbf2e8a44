"""Deep networks in the window: the Model panel edits the whole network spec, the Landscape
panel the modes a network with batch norm or dropout is sliced in, and the figures say
which mode they show."""
from dataclasses import replace

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.models.network import Network
from tests.gui.conftest import SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, wait_for_frames


@pytest.fixture(autouse=True)
def record_errors(window):
    """Every message the state gives, in ``window.errors``."""
    window.errors = []
    window.state.error.connect(window.errors.append)


def settle(qtbot, window):
    """Let any work a change started finish (and any late message arrive)."""
    wait_for_frames(qtbot, window, 2)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def type_into(qtbot, widget, text):
    """Click into a text or number box, replace its text and press Enter, as a person does."""
    widget.setFocus()
    qtbot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)
    editor = widget.lineEdit() if isinstance(widget, QtWidgets.QAbstractSpinBox) else widget
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(widget, QtCore.Qt.Key.Key_Return)


def choose(qtbot, box, data):
    """Pick the item of a combo box with ``data`` by keyboard, as a person does."""
    box.setFocus()
    target = box.findData(data)
    assert target >= 0, data
    key = QtCore.Qt.Key.Key_Down if target > box.currentIndex() else QtCore.Qt.Key.Key_Up
    while box.currentIndex() != target:
        qtbot.keyClick(box, key)


def center_value(landscape):
    rows, columns = landscape.values.shape
    return landscape.values[rows // 2, columns // 2]  # (a, b) = (0, 0): the centre lies on the grid


def test_the_model_panel_builds_a_three_layer_batch_norm_dropout_net_and_the_slice_follows(qtbot, window):
    state, panel = window.state, window.model_panel
    linear = state.landscape
    assert not panel.hidden.isEnabled() and not panel.batchnorm.isEnabled() and not panel.keep_prob.isEnabled()
    choose(qtbot, panel.model, "net")
    qtbot.waitUntil(lambda: state.problem.model == "net" and panel.hidden.isEnabled(), timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)

    type_into(qtbot, panel.hidden, "16, 16, 16")
    qtbot.mouseClick(panel.batchnorm, QtCore.Qt.MouseButton.LeftButton)  # while the widths still build
    type_into(qtbot, panel.keep_prob, "0.8")
    wanted = replace(state.problem, hidden=(16, 16, 16), batchnorm=True, keep_prob=0.8)
    qtbot.waitUntil(lambda: state.problem == wanted and state.landscape is not None, timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert window.errors == []

    objective, landscape = state.objective, state.landscape
    assert isinstance(objective, Network)
    assert objective.widths == (16, 16, 16) and objective.batchnorm and objective.keep_prob == 0.8
    assert landscape is not linear and landscape.values.shape == linear.values.shape
    # the slice is drawn in the default modes, and says so
    assert landscape.plane.info["bn_mode"] == "eval" and landscape.plane.info["dropout_mode"] == "off"
    reference = state.slice.objective_in_modes(objective, state.plane.center)
    assert center_value(landscape) == pytest.approx(reference.loss(state.plane.center), rel=1e-9)
    title = window.heatmap.figure.plot.titleLabel.text
    assert "BN eval" in title and "dropout off" in title
    assert "batch norm: eval" in window.heatmap.info.text()
    # the panel shows what is in force
    assert panel.hidden.text() == "3 x 16" and panel.batchnorm.isChecked()
    assert panel.keep_prob.value() == pytest.approx(0.8)


@pytest.mark.scene("small_deep_network_session")
def test_bad_widths_are_refused_with_one_message_and_nothing_changes(qtbot, window):
    # one window for every bad text: each is refused and leaves the window as it was, so
    # the next starts from the same state (a window each cost 2.5 s of set-up apiece)
    state, panel = window.state, window.model_panel
    problem, landscape = state.problem, state.landscape
    for text in ["16, x", "0", ", ".join(["4"] * 74), "16,,16", "5000", "65 x 16", "x 16", "2 x 0"]:
        window.errors.clear()
        type_into(qtbot, panel.hidden, text)
        settle(qtbot, window)
        window.landscape_panel.extent.setFocus()
        settle(qtbot, window)
        assert len(window.errors) == 1, (text, window.errors)
        assert "hidden" in window.errors[0] or "layers" in window.errors[0], text
        assert state.problem == problem and state.landscape is landscape, text
        assert panel.hidden.text() == "12, 12", text  # the value in force again


@pytest.mark.scene("small_deep_network_session")
def test_skip_connections_apply_only_with_equal_consecutive_widths(qtbot, window):
    state, panel = window.state, window.model_panel
    assert panel.residual.isEnabled()  # 12, 12
    type_into(qtbot, panel.hidden, "12, 20")
    qtbot.waitUntil(lambda: state.problem.hidden == (12, 20), timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert not panel.residual.isEnabled()
    assert "as wide as the one before it" in panel.residual.toolTip() and "12, 20" in panel.residual.toolTip()
    type_into(qtbot, panel.hidden, "20, 20, 20")
    qtbot.waitUntil(lambda: state.problem.hidden == (20, 20, 20), timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert panel.residual.isEnabled() and "Disabled" not in panel.residual.toolTip()
    plain = state.landscape
    qtbot.mouseClick(panel.residual, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.problem.residual and state.objective.residual, timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert not np.allclose(state.landscape.values, plain.values)  # h + f(h) is another function
    # widths without a skip are refused while skip connections are on: one message, nothing changes
    problem = state.problem
    type_into(qtbot, panel.hidden, "20, 30")
    settle(qtbot, window)
    assert len(window.errors) == 1 and "skip connections" in window.errors[0]
    assert state.problem == problem and panel.hidden.text() == "3 x 20"
    assert window.errors == window.errors[:1]


def test_maxout_pieces_apply_only_to_maxout(qtbot, window):
    state, panel = window.state, window.model_panel
    assert not panel.pieces.isEnabled() and "network" in panel.pieces.toolTip()
    choose(qtbot, panel.model, "net")
    qtbot.waitUntil(lambda: state.problem.model == "net", timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert not panel.pieces.isEnabled() and "only maxout has pieces" in panel.pieces.toolTip()
    choose(qtbot, panel.activation, "maxout")
    qtbot.waitUntil(lambda: state.problem.activation == "maxout" and panel.pieces.isEnabled(),
                    timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert isinstance(state.objective, Network) and state.objective.pieces == 2
    type_into(qtbot, panel.pieces, "3")
    qtbot.waitUntil(lambda: state.objective.pieces == 3, timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert state.problem.pieces == 3 and window.errors == []
    # the five schemes, zero and 1.0 included
    assert [panel.init.itemData(k) for k in range(panel.init.count())] == ["he", "xavier", "small", "large", "zero"]


def test_mode_combos_are_disabled_without_batch_norm_or_dropout(qtbot, window):
    landscape_panel = window.landscape_panel
    for widget in (landscape_panel.bn_mode, landscape_panel.dropout_mode, landscape_panel.dropout_masks):
        assert not widget.isEnabled() and "only a network has batch norm or dropout" in widget.toolTip()


@pytest.mark.scene("small_deep_network_session")
def test_switching_the_batch_norm_mode_recomputes_the_slice_on_the_same_plane(qtbot, window):
    state, panel = window.state, window.landscape_panel
    assert panel.bn_mode.isEnabled() and panel.dropout_mode.isEnabled()
    assert not panel.dropout_masks.isEnabled() and "mean of K masks" in panel.dropout_masks.toolTip()
    plane, evaluation = state.plane, state.landscape
    assert evaluation.plane.info["bn_mode"] == "eval"

    choose(qtbot, panel.bn_mode, "train")
    qtbot.waitUntil(lambda: state.landscape is not evaluation and state.landscape is not None, timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    training = state.landscape
    assert state.slice.bn_mode == "train" and state.plane is plane  # the centre was not retrained
    assert training.plane.info["bn_mode"] == "train" and "train" in training.plane.info["modes"]
    assert not np.allclose(training.values, evaluation.values)
    reference = state.slice.objective_in_modes(state.objective, plane.center)
    assert center_value(training) == pytest.approx(reference.loss(plane.center), rel=1e-9)
    assert training.plane.info["center_loss"] == pytest.approx(reference.loss(plane.center), rel=1e-9)
    assert "BN train" in window.heatmap.figure.plot.titleLabel.text
    assert state.cut.plane.info["bn_mode"] == "train"
    qtbot.waitUntil(lambda: "BN train" in window.cut_panel.plot.getAxis("bottom").labelText, timeout=UI_TIMEOUT_MS)

    # dropout: the mean of K masks, K from its box
    choose(qtbot, panel.dropout_mode, "mean")
    qtbot.waitUntil(lambda: state.slice.dropout_mode == "mean:8" and panel.dropout_masks.isEnabled(),
                    timeout=UI_TIMEOUT_MS)
    type_into(qtbot, panel.dropout_masks, "3")
    qtbot.waitUntil(lambda: state.slice.dropout_mode == "mean:3", timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(lambda: state.landscape is not None and state.landscape.plane.info.get("dropout_mode") == "mean:3",
                    timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert "mean of 3 masks" in window.heatmap.figure.plot.titleLabel.text
    assert window.errors == []

    # without batch norm the batch-norm mode means nothing
    qtbot.mouseClick(window.model_panel.batchnorm, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not state.problem.batchnorm, timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    assert not panel.bn_mode.isEnabled() and "no batch norm" in panel.bn_mode.toolTip()
    assert panel.dropout_mode.isEnabled()
    assert "bn_mode" not in state.landscape.plane.info and "BN" not in window.heatmap.figure.plot.titleLabel.text
    qtbot.waitUntil(lambda: "BN" not in window.cut_panel.plot.getAxis("bottom").labelText, timeout=UI_TIMEOUT_MS)


def test_a_session_saved_with_a_deep_net_reopens_with_the_panels_showing_it(qtbot, window, tmp_path, monkeypatch):
    from tests.gui.scenes import small_deep_network_session

    state = window.state
    session = small_deep_network_session()
    deep = replace(session, problem=replace(session.problem, hidden=(12, 12, 12), residual=True, init="xavier"),
                   slice=replace(session.slice, bn_mode="train", dropout_mode="mean:4"))
    path = tmp_path / "deep.hillwalk.json"
    deep.save(path)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.open_session_action.trigger()
    qtbot.waitUntil(lambda: state.problem == deep.problem and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    settle(qtbot, window)
    model, landscape = window.model_panel, window.landscape_panel
    assert model.model.currentData() == "net" and model.hidden.text() == "3 x 12"
    assert model.batchnorm.isChecked() and model.residual.isChecked() and model.residual.isEnabled()
    assert model.keep_prob.value() == pytest.approx(0.8) and model.init.currentData() == "xavier"
    assert landscape.bn_mode.currentData() == "train" and landscape.dropout_mode.currentData() == "mean"
    assert landscape.dropout_masks.value() == 4 and landscape.dropout_masks.isEnabled()
    assert state.landscape.plane.info["dropout_mode"] == "mean:4" and window.errors == []
