"""GUI test fixtures: the scene every test starts from, how long each kind of wait may take,
and the check that no test leaves a worker thread behind.

Scenes: a test's ``window`` is on the small scene (tests/gui/scenes.py: iris, a 41 x 41
slice, a 60-step race), computed in a fraction of a second, unless the test names another
scene of that module with ``@pytest.mark.scene("small_digits_session")``. Only the tests about
the first launch use the full default scene (``default_window`` in test_default_scene.py,
and View > Reset).

Timeouts: one constant per kind of wait. Each is at least the longest such wait measured
on the project's idle 2-core machine (in the comments) times 4 for a machine four times
slower, times 10 for a busy one (the suite once took 10 times longer there), rounded up. A
timeout only bounds how long a failing test takes to fail: a generous one costs nothing
when the test passes, a tight one fails a correct program on a slow machine.
"""
import threading
import time

import pytest
from PyQt6 import QtCore

# A reaction on the GUI thread: a layout after a resize, a hover readout, a key press, ten
# frames of the playback timer (measured: at most 0.31 s).
UI_TIMEOUT_MS = 20_000
# A small scene, or a change to it, computed: data, plane, slice, cut and the race's runs,
# a session, a preset or a data file opened (measured: at most 2.7 s, a network preset).
SCENE_TIMEOUT_MS = 120_000
# The full default scene of a first launch: digits, 101 x 101, a 300-step race of four
# methods (measured: 2.9 s; on a busy machine it once took over 120 s).
DEFAULT_SCENE_TIMEOUT_MS = 300_000
# A lab's result (gradient check, step-size sweep, sanity checks, the initialization
# stack, linear against a network) (measured: at most 2.6 s, the spiral's network).
LAB_TIMEOUT_MS = 120_000
# Long work a test starts on purpose: a 2000-step race drawn as it streams, a GIF export,
# a 401 x 401 slice of CIFAR-shaped data (measured: at most 5.4 s).
LONG_WORK_TIMEOUT_MS = 300_000
# After a test: a worker that was told to stop finishes the piece of work it is in and
# ends. Measured: never needed here (closing a window cancels its jobs and waits for them);
# the longest work that does not check for a stop request is a lab's computation, at most
# 2.6 s. A worker still running after the grace is a leak the test must fix (cancel and wait).
WORKER_STOP_GRACE_S = 120.0
# A command-line run in a subprocess (render, trace, race, --screenshot, the 3-D view under
# Xvfb), and Xvfb's own stop (measured: at most 3 s).
SUBPROCESS_TIMEOUT_S = 300

# How many ticks of the playback timer (33 ms each, idle: the 100 ms the tests waited
# before) a test lets pass before it says that something did not happen (a second message,
# a frame after Pause, a redraw after a burst): counted in the app's own frames, each a turn
# of its event loop, not in milliseconds, so a slow or busy machine waits as many turns as
# a fast one.
QUIET_FRAMES = 3


def pytest_configure(config):
    config.addinivalue_line("markers", "scene(name): the function of tests/gui/scenes.py whose Session the "
                                       "test's window starts on (default: small_session)")


def _running_workers():
    from hillwalk.gui.workers import run_pool

    pool_threads = QtCore.QThreadPool.globalInstance().activeThreadCount() + run_pool().activeThreadCount()
    # (the linear slice's workers are daemons, so that a paused slice cannot hold the
    # interpreter at exit; they are workers all the same)
    python_threads = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
                      and (not t.daemon or t.name.startswith("hillwalk-slice"))]
    return pool_threads, python_threads


@pytest.fixture(autouse=True)
def no_worker_left_running(qapp):
    """Fail a test that leaves a worker (thread-pool task or Python thread) running.

    A grace period lets a worker that was already told to stop reach its end (closing a
    window cancels its jobs); a worker still busy after it is a leak the test must fix
    (cancel and wait)."""
    yield
    deadline = time.monotonic() + WORKER_STOP_GRACE_S
    pool, threads = _running_workers()
    while (pool or threads) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
        pool, threads = _running_workers()
    assert pool == 0 and not threads, (f"test left workers running: {pool} thread-pool task(s), "
                                       f"threads {[t.name for t in threads]}")


def type_into(qtbot, box, text):
    """Type ``text`` into a spin box and press Enter, as a person does (select what is
    there, type over it)."""
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)


def wait_for_frames(qtbot, window, count=QUIET_FRAMES):
    """Let the window's playback timer fire ``count`` times: the time in which anything
    still on its way (a second message, a row after Cancel) would arrive, in the app's
    own frames rather than in milliseconds."""
    ticks = []

    def tick():
        ticks.append(1)

    window.timer.timeout.connect(tick)
    try:
        qtbot.waitUntil(lambda: len(ticks) >= count, timeout=UI_TIMEOUT_MS)
    finally:
        window.timer.timeout.disconnect(tick)


def open_window(qtbot, session, size=(1400, 900)):
    """A main window (no saved settings) shown at ``size`` with ``session`` applied and
    computed; closed (its jobs cancelled) after the test."""
    from hillwalk.gui.main_window import MainWindow

    win = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    win.apply_session(session)
    qtbot.waitUntil(win.scene_complete, timeout=SCENE_TIMEOUT_MS)
    return win


@pytest.fixture
def window(qtbot, request):
    """The main window (no saved settings) on the test's scene, computed: the small scene
    unless the test is marked ``@pytest.mark.scene(name)`` with another function of
    tests/gui/scenes.py."""
    from tests.gui import scenes

    marker = request.node.get_closest_marker("scene")
    win = open_window(qtbot, getattr(scenes, marker.args[0] if marker else "small_session")())
    yield win
    win.close()


@pytest.fixture(scope="module")
def small_window(qapp):
    """One main window per test module on the small scene (tests/gui/scenes.py), not yet
    computed: each test waits for ``scene_complete`` itself and leaves the scene as it found it."""
    from hillwalk.gui.main_window import MainWindow
    from tests.gui.scenes import small_session

    win = MainWindow(settings=None, autostart=False)
    win.resize(1400, 900)
    win.show()
    win.apply_session(small_session())
    yield win
    win.close()
    win.state.shutdown()
