"""Every preset of the Presets menu loads and computes its scene."""
import numpy as np
import pytest

from hillwalk.core.io.session import Session
from hillwalk.gui.main_window import RENAMED_LABS, MainWindow, preset_paths
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS


@pytest.fixture(scope="module")
def presets():
    paths = preset_paths()
    assert len(paths) >= 10
    return paths


# the deep-network presets (11-14) load and compute in tests/gui/test_compare_models_gui.py,
# which also checks their captions and the lab's figures
@pytest.mark.parametrize("index", range(10))
def test_each_preset_loads_and_computes(qtbot, presets, index):
    path = presets[index]
    session = Session.load(path)  # a valid session file
    window = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(window)
    window.resize(1300, 850)
    window.show()
    action = next(a for a in window.presets_menu.actions() if a.text() == session.title)
    action.trigger()
    qtbot.waitUntil(lambda: window.state.problem == session.problem and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    state = window.state
    assert state.slice == session.slice and state.race == session.race
    assert np.all(np.isfinite(state.landscape.values))
    assert len(state.runs) == sum(o.enabled for o in session.optimizers)
    if session.view.get("lab"):
        lab = window.labs[RENAMED_LABS.get(session.view["lab"], session.view["lab"])]
        assert window.current_lab() is lab
        qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    window.close()
