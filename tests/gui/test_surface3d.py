"""The 3-D surface view: a placeholder offscreen, a real surface under Xvfb (xcb)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gui.conftest import SCENE_TIMEOUT_MS, SUBPROCESS_TIMEOUT_S
from tests.gui.scenes import small_session

HERE = Path(__file__).resolve().parent


def test_offscreen_the_3d_tab_explains_itself_and_the_app_works(window):
    panel = window.labs["3D surface"]
    window.show_lab("3D surface")
    assert not panel.available
    assert "OpenGL" in panel.placeholder.text() and "offscreen" in panel.placeholder.text()
    assert panel.placeholder.isVisible()
    assert window.state.landscape is not None  # the rest of the app went on


@pytest.fixture
def x_server():
    """A fresh Xvfb display, stopped after the test; skipped only when none can start."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("no X server: Xvfb is not installed (make test installs it on Debian/Ubuntu)")
    read_end, write_end = os.pipe()
    process = subprocess.Popen([xvfb, "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten",
                                "tcp"], pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        process.kill()
        reason = process.stderr.read().decode(errors="replace")[:200]
        process.stderr.close()
        process.wait(timeout=SUBPROCESS_TIMEOUT_S)
        pytest.skip(f"no X server: Xvfb did not start ({reason})")
    yield f":{number}"
    process.terminate()
    process.wait(timeout=SUBPROCESS_TIMEOUT_S)
    process.stderr.close()


def test_under_xvfb_the_3d_view_draws_the_surface_and_paths(x_server, tmp_path):
    env = dict(os.environ, DISPLAY=x_server, QT_QPA_PLATFORM="xcb")
    out = tmp_path / "surface.png"
    session = small_session().save(tmp_path / "small.hillwalk.json")
    result = subprocess.run([sys.executable, str(HERE / "surface_on_x.py"), str(out), str(session),
                             str(SCENE_TIMEOUT_MS / 1000)], env=env, capture_output=True, text=True,
                            timeout=SUBPROCESS_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb"
    assert report["available"], report["reason"]
    # A blank (single-colour) frame has std 0 and one colour; the coloured surface has many.
    assert report["std"] > 20 and report["colors"] > 200
    assert report["paths"] == 4  # the small scene's race: the default four methods
    assert report["exported_width"] == 500 and report["exported_colors"] > 50
    assert out.stat().st_size > 10000
