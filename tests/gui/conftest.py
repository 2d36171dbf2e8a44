"""GUI test fixtures: every test must leave no worker thread behind."""
import threading
import time

import pytest
from PyQt6 import QtCore


def _running_workers():
    from hillwalk.gui.workers import run_pool

    pool_threads = QtCore.QThreadPool.globalInstance().activeThreadCount() + run_pool().activeThreadCount()
    python_threads = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
                      and not t.daemon]
    return pool_threads, python_threads


@pytest.fixture(autouse=True)
def no_worker_left_running(qapp):
    """Fail a test that leaves a worker (thread-pool task or Python thread) running.

    A short grace period lets a worker that was already told to stop reach its end;
    a worker still busy after it is a leak the test must fix (cancel and wait)."""
    yield
    deadline = time.monotonic() + 1.0
    pool, threads = _running_workers()
    while (pool or threads) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
        pool, threads = _running_workers()
    assert pool == 0 and not threads, (f"test left workers running: {pool} thread-pool task(s), "
                                       f"threads {[t.name for t in threads]}")


SCENE_TIMEOUT_MS = 120000


@pytest.fixture
def window(qtbot):
    """The main window (no saved settings) with its default scene computed."""
    from hillwalk.gui.main_window import MainWindow

    win = MainWindow(settings=None)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(win.scene_complete, timeout=SCENE_TIMEOUT_MS)
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
