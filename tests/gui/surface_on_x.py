"""Run by test_surface3d under a real X server (Xvfb, xcb platform): open the app, show
the 3-D tab once the scene is computed, render the GL view and report what it drew.

Prints one JSON line: {"available": bool, "reason": str|None, "std": float, "colours": int,
"paths": int}; exit status 0 when it ran.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402


def main(out_path):
    from PyQt6 import QtGui

    from hillwalk.gui.app import application, dispose_window, wait_for_scene
    from hillwalk.gui.main_window import MainWindow

    app = application()
    window = MainWindow(settings=None)
    window.resize(1400, 900)
    window.show()
    if not wait_for_scene(window):
        print(json.dumps({"error": "the scene did not finish"}))
        return 1
    window.show_lab("3D surface")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    panel = window.labs["3D surface"]
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
    sys.exit(main(sys.argv[1]))
