"""Run by test_surface3d under a real X server (Xvfb, xcb platform): open the app on a
session file (the tests' small scene), show the 3-D tab once the scene is computed, render
the GL view and report what it drew.

    python surface_on_x.py OUT.png SESSION.hillwalk.json [TIMEOUT_S]

Prints one JSON line: {"available": bool, "reason": str|None, "std": float, "colours": int,
"paths": int}; exit status 0 when it ran.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402


def main(out_path, session_path, timeout_s=120.0):
    from PyQt6 import QtGui

    from hillwalk.core.io.session import Session
    from hillwalk.gui.app import application, dispose_window, wait_for_scene
    from hillwalk.gui.main_window import MainWindow

    app = application()
    window = MainWindow(settings=None, autostart=False)
    window.apply_session(Session.load(session_path))
    window.resize(1400, 900)
    window.show()
    if not wait_for_scene(window, timeout_s):
        print(json.dumps({"error": "the scene did not finish"}))
        return 1
    window.show_lab("3D surface")
    panel = window.labs["3D surface"]
    # Until the tab has drawn the surface and every enabled method's path on it (or says
    # why it cannot): however long that takes on this machine.
    enabled = sum(entry.enabled for entry in window.state.optimizers)
    deadline = time.monotonic() + timeout_s
    while panel.available and not (panel.surface is not None and len(panel.paths) == enabled):
        if time.monotonic() > deadline:
            print(json.dumps({"error": "the 3-D tab did not draw the surface and its paths"}))
            return 1
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()
    report = {"available": panel.available, "reason": panel.reason, "platform": app.platformName()}
    if panel.available:
        image = panel.render_image(640, 480)
        image.save(out_path)
        pixels = np.frombuffer(image.convertToFormat(image.Format.Format_RGB888).constBits().asstring(
            image.sizeInBytes()), dtype=np.uint8)
        rows = pixels[: 640 * 480 * 3].reshape(-1, 3)
        report.update(std=float(rows.std()), colors=int(np.unique(rows, axis=0).shape[0]),
                      paths=len(panel.paths))
        exported = window.export_tab(Path(out_path).with_name("exported.png"), width=500)  # File > Export
        picture = QtGui.QImage(str(exported))
        report.update(exported_width=picture.width(),
                      exported_colors=len({picture.pixel(x, y) for x in range(0, picture.width(), 7)
                                            for y in range(0, picture.height(), 7)}))
    dispose_window(window)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], *(float(v) for v in sys.argv[3:4])))
