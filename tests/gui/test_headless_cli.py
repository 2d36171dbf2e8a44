"""Command-line features that draw with Qt offscreen: render to PNG, --screenshot."""
import subprocess
import sys
from pathlib import Path

from tests.gui.conftest import SUBPROCESS_TIMEOUT_S

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=SUBPROCESS_TIMEOUT_S)


def png_size(path):
    raw = Path(path).read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_png_is_a_picture_of_the_requested_size(tmp_path):
    out = tmp_path / "s.png"
    result = run("render", "--dataset", "digits", "--loss", "softmax", "--out", str(out), "--png-size", "640x480")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (640, 480)
    assert "wrote" in result.stdout



def test_cut_png(tmp_path):
    out = tmp_path / "cut.png"
    result = run("render", "--dataset", "iris", "--cut", "--out", str(out), "--png-size", "500x400",
                 "--color-scale", "log")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (500, 400)


def test_screenshot_writes_a_png(tmp_path):
    out = tmp_path / "shot.png"
    result = run("--screenshot", str(out), "--size", "800x600")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (800, 600)


def test_screenshot_to_a_missing_folder_is_a_user_error(tmp_path):
    result = run("--screenshot", str(tmp_path / "no" / "shot.png"))
    assert result.returncode == 2 and "no such folder" in result.stderr


def test_trace_png_of_a_race_on_a_function(tmp_path):
    out = tmp_path / "race.png"
    result = run("trace", "--objective", "beale", "--optimizer", "sgd,adam", "--lr", "0.01", "--steps", "100",
                 "--out", str(out), "--png-size", "700x560")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (700, 560)


def test_trace_png_of_a_classifier_shows_curves(tmp_path):
    out = tmp_path / "curves.png"
    result = run("trace", "--objective", "classifier", "--dataset", "iris", "--optimizer", "sgd,rmsprop",
                 "--lr", "0.01", "--steps", "40", "--out", str(out), "--png-size", "600x400")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (600, 400)


def test_race_command_writes_a_gif_from_a_session(tmp_path):
    from PIL import Image

    from hillwalk.core.io.session import OptimizerSetting, RaceSettings, Session
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.core.optimization.optimizers import OptimizerSpec

    session = Session(problem=ClassifierSpec(dataset="iris"), slice=SliceSpec(grid=31),
                      race=RaceSettings(steps=40), optimizers=[OptimizerSetting(OptimizerSpec("adam", lr=0.05))])
    path = session.save(tmp_path / "iris.hillwalk.json")
    out = tmp_path / "race.gif"
    result = run("race", "--session", str(path), "--out", str(out), "--frames", "12", "--gif-size", "320x240")
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.n_frames == 12 and image.size == (320, 240)
    bad = run("race", "--out", str(tmp_path / "race.png"))
    assert bad.returncode == 2 and "animated .gif" in bad.stderr


def test_race_command_takes_a_network_over_the_session_model(tmp_path):
    from PIL import Image

    from hillwalk.core.io.session import OptimizerSetting, RaceSettings, Session
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.core.optimization.optimizers import OptimizerSpec

    session = Session(problem=ClassifierSpec(dataset="spiral", preprocessing="standardize"),
                      slice=SliceSpec(grid=21, train_steps=100), race=RaceSettings(steps=20),
                      optimizers=[OptimizerSetting(OptimizerSpec("adam", lr=0.01))])
    path = session.save(tmp_path / "spiral.hillwalk.json")
    out = tmp_path / "net.gif"
    result = run("race", "--session", str(path), "--model", "net", "--hidden", "16", "--activation", "tanh",
                 "--init", "xavier", "--out", str(out), "--frames", "5", "--gif-size", "320x240")
    assert result.returncode == 0, result.stderr
    assert "5 frames" in result.stdout
    with Image.open(out) as image:
        assert image.n_frames >= 2  # PIL merges identical consecutive frames
    bad = run("race", "--model", "mlp", "--out", str(out))
    assert bad.returncode == 2 and "--model" in bad.stderr


def test_babysit_draws_its_plots_to_png(tmp_path):
    from PyQt6 import QtGui

    out = tmp_path / "babysit.png"
    result = run("babysit", "--dataset", "iris", "--epochs", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (1500, 900) and "wrote" in result.stdout
    image = QtGui.QImage(str(out))
    colors = {image.pixelColor(x, y).name() for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)}
    # the probe's three rates and the smoothed curves are drawn in their colours
    assert {"#0072b2", "#009e73", "#d55e00"} <= colors


def test_a_screenshot_waits_for_the_views_that_follow_the_frame(qtbot, tmp_path, monkeypatch):
    """The cut and the curves follow the state a few ms after the heatmap (gui.pacing): the
    screenshot is taken when they too show the frame it asks for (once the curves' cursor
    was still at step 45 of 300 in the picture while the heatmap showed the end)."""
    import hillwalk.gui.app as app_module
    import hillwalk.gui.figures as figures
    from hillwalk.gui.pacing import DeferredSlot

    seen = {}
    save = figures.save_png

    def look_then_save(picture, path, what):
        # (the shown one: an earlier test's closed window may not be deleted yet)
        window = next(w for w in app_module.QtWidgets.QApplication.topLevelWidgets()
                      if hasattr(w, "curves") and w.isVisible())
        seen.update(waiting=[slot.pending for slot in window.findChildren(DeferredSlot)],
                    cursors=[cursor.value() for cursor in window.curves.cursors], frame=window.state.frame)
        return save(picture, path, what)

    monkeypatch.setattr(figures, "save_png", look_then_save)
    app_module.take_screenshot(tmp_path / "shot.png", size=(1000, 700))
    assert seen["frame"] > 0 and not any(seen["waiting"])
    assert all(value == seen["frame"] for value in seen["cursors"])
