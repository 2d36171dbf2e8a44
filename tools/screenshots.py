"""Screenshots of the window for review: the default scene, each lab, each 2-D function preset,
each deep-network preset.

Each picture is taken offscreen once everything on it is computed (the scene, the race, and
for a lab its result), at every size asked for:

    python tools/screenshots.py --out /tmp/shots --sizes 1600x1000,1280x720

Labs that need another data set are shown on a scene where they apply (the 2-D data labs on
the spiral preset), so each picture shows the lab at work rather than its "does not apply"
line.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "resources" / "presets"
FUNCTION_PRESETS = ("05-ravine", "06-rosenbrock", "07-beale", "08-saddle")
SPIRAL_PRESET = "10-spiral-network"
LABS_ON_2D_DATA = ("Decision regions", "Compare two models")
# presets that open the Compare two models lab (deep networks)
MODEL_PRESETS = ("11-batch-norm", "12-skip-connections", "13-dropout", "14-zero-init")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    parser.add_argument("--sizes", default="1600x1000,1280x720", help="comma-separated WIDTHxHEIGHT")
    parser.add_argument("--only", default="", help="comma-separated picture names to take (default: all)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtCore, QtWidgets

    from hillwalk.core.io.session import Session
    from hillwalk.gui.app import application, dispose_window
    from hillwalk.gui.main_window import MainWindow

    app = application()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]

    def settle(predicate, timeout_s=300):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if predicate():
                return True
            time.sleep(0.005)
        return False

    pictures = [("default", None, "")]
    window = MainWindow(settings=None, autostart=False)
    lab_names = [name for name in window.labs if name != "3D surface"]
    dispose_window(window)
    for name in lab_names:
        preset = SPIRAL_PRESET if name in LABS_ON_2D_DATA else None
        pictures.append((f"lab-{name.lower().replace(' ', '-')}", preset, name))
    pictures += [(f"preset-{preset}", preset, "") for preset in FUNCTION_PRESETS]
    pictures += [(f"preset-{preset}", preset, "Compare two models") for preset in MODEL_PRESETS]
    wanted = {n for n in args.only.split(",") if n}
    for picture, preset, lab in pictures:
        if wanted and picture not in wanted:
            continue
        for width, height in sizes:
            window = MainWindow(settings=None, autostart=preset is None)
            if preset is not None:
                window.apply_session(Session.load(PRESETS / f"{preset}.hillwalk.json"))
            window.resize(width, height)
            window.show()
            ok = settle(window.scene_complete)
            state = window.state
            state.set_playing(False)
            state.set_frame(state.max_frame)
            if lab:
                window.show_lab(lab)
                key = window.labs[lab].lab
                labs = state.labs
                ok = settle(lambda: labs.result(key) is not None or labs.unavailable_reason(key)) and ok  # noqa: B023 (waited on here)
                settle(lambda: not state.jobs.running, 60)  # noqa: B023 (waited on here)
            settle(lambda: False, 0.3)
            path = out / f"{picture}-{width}x{height}.png"
            window.grab().save(str(path), "PNG")
            print(f"{path}{'' if ok else '  (timed out before everything was computed)'}", flush=True)
            dispose_window(window)
    QtWidgets.QApplication.processEvents()


if __name__ == "__main__":
    main()
