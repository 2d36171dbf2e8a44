"""Time from interpreter start to a responsive main window, and to the complete default
scene (slice, cut and race), offscreen. Prints one JSON line. Where the app's modules
have no compiled bytecode and may not write it (``PYTHONDONTWRITEBYTECODE``), each start
compiles them again (about 0.1 s here): ``bench_window.py`` compiles them first.
Run: .venv/bin/python benchmarks/startup_time.py
"""
import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hillwalk.blas_setup  # noqa: E402, F401  (before NumPy: it sets the BLAS library's environment)

from hillwalk.gui.app import application, dispose_window  # noqa: E402
from hillwalk.gui.main_window import MainWindow  # noqa: E402
from hillwalk.gui.pacing import paint_in_own_turn  # noqa: E402

app = application()
window = MainWindow(settings=None)
window.resize(1600, 1000)
window.show()
app.processEvents()
# the window paints in a turn of the event loop of its own (gui.pacing): until it has, it
# is not shown, and the minimal window's figure includes its first paint
while paint_in_own_turn(window).pending:
    app.processEvents()
responsive = time.perf_counter() - STARTED
landscape_at = None
while not window.scene_complete():
    app.processEvents()
    if landscape_at is None and window.state.landscape is not None:
        landscape_at = time.perf_counter() - STARTED
    time.sleep(0.002)
complete = time.perf_counter() - STARTED
print(json.dumps({"responsive_window_s": round(responsive, 3), "first_slice_s": round(landscape_at or complete, 3),
                  "scene_complete_s": round(complete, 3)}))
# the app's own teardown (left to the interpreter's exit, a window's clean-up has crashed
# with SIGSEGV, see dispose_window); one bench_window round had this script die of SIGSEGV,
# with nothing on stderr, not seen again in 16 runs
dispose_window(window)
