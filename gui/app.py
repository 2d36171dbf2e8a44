"""Starting the desktop app, on screen or offscreen for a screenshot."""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from hillwalk.core.errors import HillwalkError

APP_NAME = "Hillwalk"


_previous_message_handler = None


def _quiet_offscreen_messages(mode, context, message):
    # The offscreen platform reports that it cannot resize to size hints; that is
    # expected when no screen exists and says nothing useful to a user.
    if "propagateSizeHints" in message:
        return
    # Under a non-UTF-8 locale Qt announces, in four lines, that it switched to C.UTF-8;
    # it works either way, and the lines would surround the one line a command prints.
    if message.startswith("Detected locale") and "UTF-8" in message:
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


def report_unexpected_error(kind, value, trace):
    """``sys.excepthook`` of the running app: an exception that escapes a Qt slot is a bug,
    and PyQt would end the whole app for it (qFatal). Instead it costs one line on stderr
    (the traceback with HILLWALK_DEBUG=1) and one message in the window; the settings stay."""
    import os
    import traceback

    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, trace)
        return
    if os.environ.get("HILLWALK_DEBUG"):
        traceback.print_exception(kind, value, trace)
    else:
        sys.stderr.write(f"hillwalk: internal error ({kind.__name__}: {value}); set HILLWALK_DEBUG=1 for details "
                         "and please report it\n")
    for widget in QtWidgets.QApplication.topLevelWidgets():
        if callable(getattr(widget, "show_error", None)) and widget.isVisible():
            widget.show_error(f"Internal error ({kind.__name__}: {value}); please report it. Your settings are "
                              "unchanged.")
            break


def install_error_net():
    """Make :func:`report_unexpected_error` the hook for exceptions nobody caught."""
    sys.excepthook = report_unexpected_error


def dispose_window(window):
    """Stop the window's jobs, then delete it and its widget tree now, on the GUI thread.

    Left to the interpreter's exit, PyQt's clean-up walks wrappers of a half-destroyed
    widget tree, and about one exit in twenty crashed (SIGSEGV in ``cleanup_qobject``)
    after the work was done. Deleting the tree while Qt and Python are both fully alive
    takes that ordering out of chance.
    """
    from hillwalk.gui.figures import delete_now

    window.close()  # closeEvent cancels the jobs and waits for the pool
    window.state.shutdown()
    delete_now(window)
    gc.collect()


def run_app(session=None) -> int:
    """Open the main window (with the last settings, or ``session``) and run the event loop."""
    from hillwalk.gui.main_window import MainWindow

    app = application()
    install_error_net()
    settings = QtCore.QSettings(APP_NAME, APP_NAME)
    window = MainWindow(settings=settings, autostart=session is None)
    if session is not None:
        window.apply_session(session)
    if settings.value("geometry") is None:  # first launch: most of the screen, up to 1600 x 1000
        screen = app.primaryScreen().availableGeometry()
        window.resize(min(1600, int(screen.width() * 0.9)), min(1000, int(screen.height() * 0.9)))
    window.show()
    code = app.exec()
    dispose_window(window)
    return code


def wait_for_scene(window, timeout_s=120.0) -> bool:
    """Process events until the window's slice and race are computed (or time runs out);
    a message the window shows meanwhile (a session whose data cannot be loaded) ends the
    wait with a :class:`HillwalkError` carrying it."""
    app = application()
    messages = []
    window.state.error.connect(messages.append)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if messages:
                raise HillwalkError(f"{messages[0]}; nothing was saved")
            if window.scene_complete():
                return True
            time.sleep(0.01)
        return False
    finally:
        window.state.error.disconnect(messages.append)


def take_screenshot(path, size=(1600, 1000), frame_share=1.0, session=None) -> int:
    """Build the main window offscreen at ``size`` (width, height), wait until the default
    scene (or ``session``) is computed and the race has run, show ``frame_share`` of it,
    save a PNG."""
    from hillwalk.gui.main_window import MainWindow

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise HillwalkError(f"{path}: the screenshot is saved as PNG; give a file name ending in .png")
    from hillwalk.core.io.files import check_output_folder

    check_output_folder(path, "screenshot")
    app = application()  # noqa: F841 (held: the QApplication lives as long as this name)
    window = MainWindow(settings=None, autostart=session is None)
    if session is not None:
        window.apply_session(session)
    window.resize(*size)
    window.show()
    try:
        if not wait_for_scene(window):
            raise HillwalkError("the scene did not finish computing within two minutes; nothing was saved")
        window.state.set_playing(False)
        window.state.set_frame(int(round(frame_share * window.state.max_frame)))
        # until the views that follow the state a few ms later (the cut, the curves) show
        # the frame too: scene_complete waits for them
        if not wait_for_scene(window):
            raise HillwalkError("the window did not settle within two minutes; nothing was saved")
        from hillwalk.gui.figures import save_png

        save_png(window.grab(), path, "screenshot")  # atomically: a failed write leaves nothing behind
    finally:
        dispose_window(window)
    return 0
