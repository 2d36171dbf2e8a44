"""Help > About names the version the user runs (for a bug report) without blocking the app."""
import numpy as np
from PyQt6 import QtCore, QtWidgets

import hillwalk
from tests.gui.conftest import UI_TIMEOUT_MS


def test_help_about_shows_the_installed_version(qtbot):
    from hillwalk.gui.main_window import MainWindow

    window = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(window)
    window.show()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help")
    about = next(a for a in help_menu.actions() if a.text().replace("&", "") == "About Hillwalk")
    about.trigger()
    qtbot.waitUntil(lambda: window.about_box is not None and window.about_box.isVisible(), timeout=UI_TIMEOUT_MS)
    text = window.about_box.text()
    assert f"Hillwalk {hillwalk.__version__}" in text and hillwalk.__version__ != "0+unknown"
    assert f"NumPy {np.__version__}" in text and f"Qt {QtCore.qVersion()}" in text
    # window-modal, not a nested event loop: the test got here, and OK closes it
    qtbot.mouseClick(window.about_box.button(QtWidgets.QMessageBox.StandardButton.Ok),
                     QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.about_box.isVisible(), timeout=UI_TIMEOUT_MS)
    window.close()
