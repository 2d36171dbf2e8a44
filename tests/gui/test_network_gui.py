"""Networks in the app: the model switch, the initialization lab, the spiral showcase."""
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core.models.network import TwoLayerNet
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]


def test_switching_the_model_to_a_network_recomputes_the_slice(qtbot, window):
    state = window.state
    old = state.landscape
    combo = window.model_panel.model
    assert not window.model_panel.hidden.isEnabled()
    combo.setCurrentIndex(combo.findData("net"))
    qtbot.waitUntil(lambda: isinstance(state.objective, TwoLayerNet) and state.landscape is not None
                    and state.landscape is not old and state.landscape.plane is state.plane,
                    timeout=SCENE_TIMEOUT_MS)
    assert window.model_panel.hidden.isEnabled() and window.model_panel.activation.isEnabled()
    assert state.problem.model == "net" and state.objective.hidden == 64
    assert state.landscape.method == "fast" and state.plane.info["biases"] == "zeroed"  # the exact network fast path (issue 17)
    assert state.landscape.values.shape == old.values.shape
    assert not np.allclose(state.landscape.values, old.values)
    rows, columns = state.landscape.values.shape
    center = state.landscape.values[rows // 2, columns // 2]  # (a, b) = (0, 0)
    assert center == pytest.approx(state.objective.loss(state.plane.center), rel=1e-9)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert all(run.thetas.shape[1:] == state.objective.param_shape for run in state.runs.values())


def test_the_initialization_lab_shows_different_histograms_per_scheme(qtbot, window):
    lab = window.labs["Initialization"]
    window.show_lab("Initialization")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    by_scheme = {stats.scheme: stats for stats in lab.result}
    assert set(by_scheme) == {"zero", "small", "large", "xavier", "he"}
    spreads = {scheme: stats.activation_std[0] for scheme, stats in by_scheme.items()}
    assert spreads["small"] < 0.5 * spreads["xavier"] and spreads["xavier"] < spreads["large"]  # tanh
    assert by_scheme["large"].saturated[0] > 0.5 > by_scheme["small"].saturated[0]
    drawn = {}
    qtbot.waitUntil(lambda: not lab.drawing.pending, timeout=UI_TIMEOUT_MS)   # (a row of plots a turn)
    for scheme, plot in lab.activation_plots.items():
        layers = plot.ridges.layer_data()
        assert len(layers) == 10  # the notes' default: ten hidden layers
        drawn[scheme] = layers[0]
    assert not np.allclose(drawn["small"][1], drawn["large"][1])
    old = lab.result
    lab.depth.setValue(4)  # deeper stacks: one histogram per layer
    qtbot.waitUntil(lambda: lab.result is not old and lab.result is not None, timeout=LAB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(lab.activation_plots["he"].ridges.layer_data()) == 4, timeout=UI_TIMEOUT_MS)
    assert "activation std per layer" in lab.status.text()


def test_the_spiral_preset_shows_linear_failing_and_the_network_succeeding(qtbot, window):
    window.open_session(ROOT / "resources" / "presets" / "10-spiral-network.hillwalk.json")
    # saved as "Linear vs network" (session version 1): the lab it became
    lab = window.labs["Compare two models"]
    qtbot.waitUntil(lambda: window.current_lab() is lab, timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: lab.result is not None and isinstance(window.state.objective, TwoLayerNet),
                    timeout=LAB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: lab.result is not None and lab.result["b"].model.train.name == "spiral",
                    timeout=LAB_TIMEOUT_MS)
    accuracies = {side: figures[2] for side, figures in lab.figures_of().items()}
    assert accuracies["a"] < 0.60 and accuracies["b"] >= 0.95
    assert lab.result["a"].variant.model == "linear" and lab.result["b"].model.widths == (64,)
    assert "training accuracy 9" in lab.figure_texts["b"].text()
    assert lab.figures["b"].image.image is not None and lab.graphics.isVisible()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
