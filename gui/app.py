"""Starting the desktop app, on screen or offscreen for a screenshot."""
from __future__ import annotations

import sys
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from core.errors import HillwalkError

APP_NAME = "Hillwalk"


_previous_message_handler = None


def _quiet_offscreen_messages(mode, context, message):
    # The offscreen platform reports that it cannot resize to size hints; that is
    # expected when no screen exists and says nothing useful to a user.
    if "propagateSizeHints" in message:
        return
    if _previous_message_handler is not None:
        _previous_message_handler(mode, context, message)
    else:
        sys.stderr.write(message + "\n")


def application():
    global _previous_message_handler
    app = QtWidgets.QApplication.instance()
    if app is None:
        _previous_message_handler = QtCore.qInstallMessageHandler(_quiet_offscreen_messages)
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName(APP_NAME)
        app.setOrganizationName(APP_NAME)
    return app


def run_app() -> int:
    """Open the main window and run the event loop until it closes."""
    from gui.main_window import MainWindow

    app = application()
    window = MainWindow()
    window.show()
    return app.exec()


def take_screenshot(path, size=(1600, 1000)) -> int:
    """Build the main window at ``size`` (width, height), let it render, save a PNG."""
    from gui.main_window import MainWindow

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise HillwalkError(f"{path}: the screenshot is saved as PNG; give a file name ending in .png")
    if not path.parent.exists():
        raise HillwalkError(f"{path.parent}: no such folder for the screenshot")
    app = application()
    window = MainWindow()
    window.resize(*size)
    window.show()
    for _ in range(5):
        app.processEvents()
    if not window.grab().save(str(path), "PNG"):
        raise HillwalkError(f"{path}: could not write the PNG file (permissions? disk full?)")
    window.close()
    return 0
