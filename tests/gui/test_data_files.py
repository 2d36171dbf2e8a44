"""Opening data files in the window: labels that are renumbered say so where a person
sees the data set (the Data panel's summary)."""
import numpy as np
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.io.session import RaceSettings, Session, default_race_optimizers
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.gui.main_window import MainWindow
from tests.gui.conftest import SCENE_TIMEOUT_MS


def test_labels_minus_one_and_a_billion_open_as_two_named_classes(qtbot, tmp_path, monkeypatch):
    window = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(window)
    window.show()
    window.apply_session(Session(ClassifierSpec(dataset="iris"), SliceSpec(grid=21, train_steps=20),
                                 RaceSettings(steps=20), default_race_optimizers()))
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    rng = np.random.default_rng(0)
    path = tmp_path / "signs.npz"
    np.savez(path, X=rng.standard_normal((30, 2)), y=np.where(np.arange(30) % 2, 10 ** 9, -1))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(window.data_panel.open_file_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.objective.train.name == "signs" and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    assert window.state.objective.train.class_names == ("-1", "1000000000")
    assert window.state.objective.param_shape == (2, 3)
    assert "labels -1, 1000000000 renumbered as classes 0..1" in window.data_panel.summary.text()
    window.close()
    window.state.shutdown()
