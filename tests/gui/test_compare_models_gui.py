"""The Compare two models lab and the deep-network presets, driven as a person would: the
Presets menu, the side editors' boxes and buttons, the caption's close button."""
import html

import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.gui.main_window import preset_paths, preset_title
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS

DEEP_PRESETS = ("11-batch-norm", "12-skip-connections", "13-dropout", "14-zero-init")


def preset_action(window, name):
    path = next(p for p in preset_paths() if p.name.startswith(name))
    return next(a for a in window.presets_menu.actions() if a.text() == preset_title(path)), preset_title(path)


def type_into(qtbot, line_edit, text):
    line_edit.setFocus()
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, text)
    qtbot.keyClick(line_edit, QtCore.Qt.Key.Key_Return)


@pytest.mark.parametrize("name", DEEP_PRESETS)
def test_each_deep_preset_loads_with_its_caption_and_computes(qtbot, window, name):
    action, title = preset_action(window, name)
    action.trigger()
    lab = window.labs["Compare two models"]
    state = window.state
    qtbot.waitUntil(lambda: state.title == title and window.current_lab() is lab, timeout=SCENE_TIMEOUT_MS)
    assert window.caption_box.isVisible() and title in window.caption_text.text()
    assert len(state.caption) > 200   # a paragraph
    sides = state.labs.comparison()
    qtbot.waitUntil(lambda: lab.result is not None and lab.result["a"].variant == sides[0], timeout=LAB_TIMEOUT_MS)
    for side in "ab":
        assert lab.figures[side].image.image is not None
        assert "roughness" in lab.figure_texts[side].text()
        label = sides["ab".index(side)].label
        assert lab.editors[side].label.text() == label
        # the box shows about 20 characters at 1280 x 720: its tip shows the label whole
        assert lab.editors[side].label.toolTip().startswith(html.escape(label) + "<br>")
    assert lab.graphics.isVisible()   # the spiral has 2 features: its decision regions
    # ... drawn at true angles, as the Decision regions lab draws them: a unit of x as long as
    # a unit of y on screen (in a wide, short row the spiral was squashed to a third)
    window.resize(1280, 720)

    def units_equal():
        for side in "ab":
            box = lab.region_plots[side].vb
            (x0, x1), (y0, y1) = box.viewRange()
            rect = box.sceneBoundingRect()
            if abs(rect.width() / (x1 - x0) - rect.height() / (y1 - y0)) > 0.01 * rect.height() / (y1 - y0):
                return False
        return True

    qtbot.waitUntil(units_equal, timeout=UI_TIMEOUT_MS)
    # the main view is one of the two sides, sliced and raced
    assert state.problem in (sides[0].problem(state.problem), sides[1].problem(state.problem))
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    close = window.caption_box.findChild(QtWidgets.QToolButton, "sessionCaptionClose")
    qtbot.mouseClick(close, QtCore.Qt.MouseButton.LeftButton)
    assert not window.caption_box.isVisible()


def test_the_side_editors_change_a_side_and_refuse_what_it_cannot_be(qtbot, window):
    """On the small scene (iris: 4 features, so no decision regions), side B becomes a
    two-layer net with skip connections; skip connections between unequal widths are
    refused with one message and the side stays as it was."""
    window.show_lab("Compare two models")
    lab = window.labs["Compare two models"]
    labs = window.state.labs
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    assert not lab.graphics.isVisible() and "roughness" in lab.figure_texts["b"].text()
    editor_a, editor_b = lab.editors["a"], lab.editors["b"]
    # side A is the linear classifier: its network controls are off
    assert not editor_a.hidden.isEnabled() and not editor_a.batchnorm.isEnabled()
    assert editor_b.hidden.isEnabled() and not editor_b.residual.isEnabled()   # one layer: nothing to skip
    assert not editor_b.bn_mode.isEnabled() and not editor_b.dropout_mode.isEnabled()
    old = lab.result
    type_into(qtbot, editor_b.hidden, "16, 16, 16")
    qtbot.waitUntil(lambda: labs.comparison()[1].hidden == (16, 16, 16), timeout=UI_TIMEOUT_MS)
    assert editor_b.residual.isEnabled()
    qtbot.mouseClick(editor_b.residual, QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(8, editor_b.residual.height() // 2))
    qtbot.waitUntil(lambda: lab.result is not None and lab.result is not old
                    and lab.result["b"].variant.residual, timeout=LAB_TIMEOUT_MS)
    assert lab.result["b"].model.widths == (16, 16, 16) and lab.result["b"].model.residual_blocks == 2
    assert lab.result["b"].units == ((16, 16),) * 3
    # a width list that breaks the skips: refused, one message, nothing changed
    computed = lab.result
    type_into(qtbot, editor_b.hidden, "16, 8, 4")
    qtbot.waitUntil(lambda: "Could not apply the change to model B" in lab.status.text(), timeout=UI_TIMEOUT_MS)
    assert "skip connections" in lab.status.text()
    assert labs.comparison()[1].hidden == (16, 16, 16) and editor_b.hidden.text() == "3 x 16"
    assert lab.result is computed and not labs.busy("models")
    # a side the memory cannot hold: refused before anything is trained
    type_into(qtbot, editor_b.hidden, "64 x 4096")
    qtbot.waitUntil(lambda: "over the" in lab.status.text() and "budget" in lab.status.text(), timeout=UI_TIMEOUT_MS)
    assert labs.comparison()[1].hidden == (16, 16, 16) and lab.result is computed and not labs.busy("models")
    # batch norm on: its slice mode becomes a choice
    qtbot.mouseClick(editor_b.batchnorm, QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(8, editor_b.batchnorm.height() // 2))
    assert labs.comparison()[1].batchnorm and editor_b.bn_mode.isEnabled()
    qtbot.waitUntil(lambda: lab.result is not None and lab.result["b"].variant.batchnorm, timeout=LAB_TIMEOUT_MS)
    assert "sliced in BN eval" in lab.figure_texts["b"].text()


def test_a_side_can_take_the_model_panels_model_and_a_session_keeps_the_sides(qtbot, window, tmp_path):
    window.show_lab("Compare two models")
    lab = window.labs["Compare two models"]
    state = window.state
    assert state.labs.comparison()[1].model == "net" and state.problem.model == "linear"
    qtbot.mouseClick(lab.editors["b"].copy, QtCore.Qt.MouseButton.LeftButton)
    assert state.labs.comparison()[1].model == "linear" and not lab.editors["b"].hidden.isEnabled()
    qtbot.waitUntil(lambda: lab.result is not None and lab.result["b"].variant.model == "linear",
                    timeout=LAB_TIMEOUT_MS)
    computed, started = lab.result, state.labs.started["models"]
    type_into(qtbot, lab.editors["a"].label, "mine")
    assert state.labs.comparison()[0].label == "mine"
    # a new label is only a new title: nothing is trained again
    assert lab.result is computed and state.labs.started["models"] == started
    assert "A: mine" in lab.figures["a"].plot.titleLabel.text   # iris: no regions, the landscape has the title
    # nor does a change the sides do not depend on (the main slice's grid)
    window.landscape_panel.grid.setCurrentIndex(0)
    qtbot.waitUntil(lambda: state.slice.grid != 41, timeout=UI_TIMEOUT_MS)
    assert lab.result is computed and state.labs.started["models"] == started
    window.save_session(tmp_path / "sides.hillwalk.json")
    from hillwalk.core.io.session import Session

    assert Session.load(tmp_path / "sides.hillwalk.json").comparison == state.labs.comparison()


def test_a_presets_caption_is_saved_only_with_its_scene(qtbot, window, tmp_path):
    from hillwalk.core.io.session import Session

    action, title = preset_action(window, "14-zero-init")
    action.trigger()
    state = window.state
    qtbot.waitUntil(lambda: state.title == title and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    window.save_session(tmp_path / "same.hillwalk.json")
    same = Session.load(tmp_path / "same.hillwalk.json")
    assert same.title == title and same.caption == state.caption
    lam = window.model_panel.lam
    lam.setValue(lam.value() * 2)
    qtbot.waitUntil(lambda: state.problem.lam == lam.value(), timeout=UI_TIMEOUT_MS)
    window.save_session(tmp_path / "changed.hillwalk.json")
    changed = Session.load(tmp_path / "changed.hillwalk.json")
    assert changed.title == "" and changed.caption == ""   # it no longer describes this scene


def test_a_typed_side_label_is_shown_whole_in_its_tip(qtbot, window):
    """A label typed into the narrow box (here at its longest) is in the box's tip, as a
    preset's is; an emptied label gives the tip its plain help back."""
    from hillwalk.gui.lab_state import MAX_LABEL_CHARS

    window.show_lab("Compare two models")
    lab = window.labs["Compare two models"]
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    editor = lab.editors["b"]
    type_into(qtbot, editor.label, "x" * (MAX_LABEL_CHARS + 10))
    longest = "x" * MAX_LABEL_CHARS
    qtbot.waitUntil(lambda: window.state.labs.comparison()[1].label == longest, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(lambda: editor.label.toolTip().startswith(longest + "<br>"), timeout=UI_TIMEOUT_MS)
    editor.label.setFocus()
    editor.label.selectAll()
    qtbot.keyClick(editor.label, QtCore.Qt.Key.Key_Delete)
    qtbot.keyClick(editor.label, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.state.labs.comparison()[1].label == "", timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(lambda: editor.label.toolTip().startswith("A short caption"), timeout=UI_TIMEOUT_MS)
