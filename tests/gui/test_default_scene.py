"""The scene of a first launch, as the window opens on it: the only GUI tests that compute
the full default scene (digits, a 101 x 101 slice, a 300-step race of four methods), once
for the module. Every other GUI test starts from a small scene (tests/gui/scenes.py);
View > Reset to the default scene is tested in test_window_rough_edges.py."""
import numpy as np
import pytest

from tests.gui.conftest import DEFAULT_SCENE_TIMEOUT_MS


@pytest.fixture(scope="module")
def default_window(qapp):
    """The main window with no saved settings, as a first launch opens it, its default
    scene computed; the tests only look at it."""
    from hillwalk.gui.app import wait_for_scene
    from hillwalk.gui.main_window import MainWindow

    win = MainWindow(settings=None)
    win.resize(1400, 900)
    win.show()
    assert wait_for_scene(win, timeout_s=DEFAULT_SCENE_TIMEOUT_MS / 1000), "the default scene did not finish"
    yield win
    win.close()
    win.state.shutdown()


def test_the_window_opens_on_the_default_scene(default_window):
    window = default_window
    state = window.state
    assert state.problem.dataset == "digits" and state.problem.loss == "softmax" and state.problem.regularizer == "l2"
    assert state.slice.center == "trained" and state.slice.directions == "filter"
    assert state.landscape.values.shape == (101, 101) and np.all(np.isfinite(state.landscape.values))
    labels = sorted(run.label.split(" lr")[0] for run in state.runs.values())
    assert labels == ["Adam", "RMSProp", "SGD", "SGD+momentum"]
    assert all(run.steps.size == 301 for run in state.runs.values())
    assert len(window.heatmap.legend.items) == 4
    assert "digits" in window.data_panel.summary.text()
    assert window.state.cut is not None and window.state.cut.values.shape == (201,)


def test_the_default_race_heads_for_the_minimum_on_distinct_roads(default_window):
    runs = list(default_window.state.runs.values())
    assert len(runs) == 4
    start = np.array(default_window.state.race.start)
    for run in runs:
        end = np.array([run.a[-1], run.b[-1]])
        assert np.linalg.norm(end) < 0.25 * np.linalg.norm(start)  # at least 75% of the way to the centre
        assert np.all(run.off_plane == 0)
    # at step 20 (mid-race on screen) no two markers share a place
    places = [np.array([run.a[20], run.b[20]]) for run in runs]
    gaps = [np.linalg.norm(p - q) for k, p in enumerate(places) for q in places[k + 1:]]
    assert min(gaps) > 0.03
