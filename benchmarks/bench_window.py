"""How fast the window answers a person's changes (issue 17's window targets).

The app is opened offscreen with its default scene; a 5 ms timer ticks on the GUI thread
(the longest gap between two ticks is how long the window could not answer). Each round
makes four changes the way a person does, waiting for the scene to settle after each:

- **learning rate**: a new value typed into the selected method's "Learning rate" box and
  Enter -> the changed method's first path segment (its restarted run has two points; the
  ``runs_updated`` signal the views redraw from) and its whole path (the run finished);
  targets 33 ms and 200 ms;
- **lambda**: a new regularization strength typed into the Model panel -> the slice (the
  first ``landscape_ready``) and the contours (the first ``contours_ready`` of the new
  landscape); targets 33 ms and 100 ms;
- **range**: a new "Range +-" typed into the Landscape panel -> the first visible result
  (a preview or the slice); target 100 ms;
- **click**: a click on the heatmap (the race's new start) -> every method's first
  segment from there; target 100 ms.

With ``--load N`` (2 by default) N CPU-bound processes run beside the window throughout,
as the issue asks ("measured with two CPU-bound processes running beside it"); the
longest GUI-thread gap during the changes has a 50 ms target.

Then, in fresh processes, startup to a responsive window (shown, first events processed;
``startup_time.py``'s first figure) against a minimal PyQt6 + pyqtgraph window measured the
same way (target 2x); a round's ratio is the median of three such pairs, started in turn.
Both start from compiled bytecode: NumPy, PyQt6 and pyqtgraph have
theirs from their install, and the app's is compiled first (``compileall``), as installing
the package does and as any earlier start does unless ``PYTHONDONTWRITEBYTECODE`` is set
(then every start compiles the app's modules again, about 0.1 s on this machine).

Prints each measure as min / median / max over the rounds and as a ratio to its target
(above 1: the target is missed). The animation frame target (16 ms with 8 paths of 1000
steps) is measured by ``bench_animation.py``.

Run: .venv/bin/python benchmarks/bench_window.py [--rounds 3] [--load 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGETS_MS = {"lr: first segment": 33, "lr: whole path": 200, "lambda: slice": 33, "lambda: contours": 100,
              "range: first result": 100, "click: first segments": 100, "longest GUI gap": 50}
HOG = "while True: pass"
STARTUP_PAIRS = 3

STARTUP_MINIMAL = r'''
import time
started = time.perf_counter()
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets
app = QtWidgets.QApplication([])
window = QtWidgets.QMainWindow()
plot = pg.PlotWidget()
plot.plot(np.arange(10.0), np.arange(10.0) ** 2)
window.setCentralWidget(plot)
window.resize(1600, 1000)
window.show()
app.processEvents()
print(time.perf_counter() - started)
'''


class Clock:
    """The GUI thread's 5 ms ticks, and the time of the first event after a change."""

    def __init__(self, QtCore):
        self.timer = QtCore.QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.last = time.perf_counter()
        self.longest_ms = 0.0

    def tick(self):
        now = time.perf_counter()
        self.longest_ms = max(self.longest_ms, (now - self.last) * 1000.0)
        self.last = now

    def reset(self):
        self.last = time.perf_counter()
        self.longest_ms = 0.0


def settle(app, window, limit_s=120.0):
    deadline = time.perf_counter() + limit_s
    while not window.scene_complete():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() > deadline:
            raise RuntimeError("the scene did not settle within two minutes")


def type_value(QtCore, QTest, box, text):
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), text)
    QTest.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)


def measure(app, window, clock, change, signals):
    """Make ``change()``; for each (signal, name, test) in ``signals``, the milliseconds
    from the change to the first emission for which ``test(*arguments)`` holds; then wait
    for the scene to settle. Returns ({name: ms or None}, longest GUI gap in ms)."""
    found = {}
    started = time.perf_counter()
    slots = []
    for signal, name, test in signals:
        def slot(*arguments, name=name, test=test):
            if name not in found and test(*arguments):
                found[name] = (time.perf_counter() - started) * 1000.0
        signal.connect(slot)
        slots.append((signal, slot))
    clock.reset()
    started = time.perf_counter()
    change()
    settle(app, window)
    for signal, slot in slots:
        signal.disconnect(slot)
    return found, clock.longest_ms


def one_round(app, window, clock, QtCore, QTest, round_index):
    state = window.state
    up = round_index % 2 == 0
    results, gaps = {}, []
    # ---- learning rate: the selected (first) method's box
    entry = state.optimizers[0]
    old_run = state.runs.get(entry.id)

    def new_run():
        run = state.runs.get(entry.id)
        return run if run is not None and run is not old_run else None

    box = window.optimizers_panel.lr
    value = f"{box.value() * (1.5 if up else 1 / 1.5):.6g}"
    found, gap = measure(app, window, clock, lambda: type_value(QtCore, QTest, box, value),
                         [(state.runs_updated, "lr: first segment", lambda: new_run() is not None and len(new_run().a) >= 2),
                          (state.runs_updated, "lr: whole path", lambda: new_run() is not None and new_run().finished)])
    results.update(found)
    gaps.append(gap)
    # ---- lambda
    old_landscape = state.landscape
    lam = window.model_panel.lam
    value = f"{lam.value() * (2.0 if up else 0.5):.6g}"
    found, gap = measure(app, window, clock, lambda: type_value(QtCore, QTest, lam, value),
                         [(state.landscape_ready, "lambda: slice", lambda final: state.landscape is not old_landscape),
                          (state.contours_ready, "lambda: contours",
                           lambda landscape, lines: landscape is not old_landscape)])
    results.update(found)
    gaps.append(gap)
    # ---- range
    extent = window.landscape_panel.extent
    value = f"{extent.value() * (1.25 if up else 0.8):.6g}"
    found, gap = measure(app, window, clock, lambda: type_value(QtCore, QTest, extent, value),
                         [(state.landscape_ready, "range: first result", lambda final: True)])
    results.update(found)
    gaps.append(gap)
    # ---- click on the heatmap: a new start for every method
    a, b = (0.3, -0.2) if up else (-0.3, 0.25)
    olds = dict(state.runs)

    def first_segments():
        enabled = [e.id for e in state.optimizers if e.enabled]
        return all(i in state.runs and state.runs[i] is not olds.get(i) and len(state.runs[i].a) >= 2 for i in enabled)

    def click():
        figure = window.heatmap.figure
        point = figure.mapFromScene(window.heatmap.scene_position_of(a, b))
        QTest.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)

    found, gap = measure(app, window, clock, click, [(state.runs_updated, "click: first segments", first_segments)])
    results.update(found)
    gaps.append(gap)
    return results, gaps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=2, help="CPU-bound processes beside the window")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.load)]
    try:
        measures = run_window(args.rounds)
    finally:
        for hog in hogs:
            hog.kill()
    startup = []
    # the app's bytecode, as an install (or any earlier start) leaves it; see the docstring
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-x", r"[/\\]\.venv[/\\]",
                    str(Path(__file__).resolve().parents[1])], check=True)
    for round_index in range(args.rounds):
        # a round's ratio is the median of STARTUP_PAIRS pairs, the app and the minimal
        # window started in turn (which goes first alternates): in ten single pairs in a
        # row, same code, the ratio ranged from 0.98 to 2.23 and the minimal window's
        # start alone from 0.25 to 0.43 s
        pairs = [startup_pair(app_first=(round_index + k) % 2 == 0) for k in range(STARTUP_PAIRS)]
        startup.append(sorted(pairs, key=lambda pair: pair[0] / pair[1])[STARTUP_PAIRS // 2])
    print(f"the window, offscreen, default scene, {args.load} CPU-bound processes beside it; min / median / max "
          f"of {args.rounds} rounds, and the median as a ratio to the target (above 1: missed)")
    for name, target in TARGETS_MS.items():
        values = [v for v in measures[name] if v is not None]
        if not values:
            print(f"  {name:24s} never seen")
            continue
        median = statistics.median(values)
        print(f"  {name:24s} {min(values):7.0f} / {median:7.0f} / {max(values):7.0f} ms   target {target:4d} ms   "
              f"ratio {median / target:5.2f}")
    ratios = [app_s / minimal_s for app_s, minimal_s in startup]
    print(f"  startup / minimal window {min(ratios):.2f} / {statistics.median(ratios):.2f} / {max(ratios):.2f}   "
          f"target 2.00   (median {statistics.median(a for a, _ in startup):.2f} s vs "
          f"{statistics.median(m for _, m in startup):.2f} s)")


def startup_pair(app_first):
    """(the app's start to a responsive window, the minimal window's), seconds, each in a
    fresh process, started one after the other."""
    def app_start():
        # the app's own startup benchmark, whose first figure is the same measure
        child = subprocess.run([sys.executable, str(Path(__file__).with_name("startup_time.py"))],
                               capture_output=True, text=True)
        if child.returncode != 0:   # say why (it happened once, unreproduced), then stop as check=True would
            print(f"startup_time.py exited with {child.returncode}:\n{child.stderr[-4000:]}", file=sys.stderr)
            child.check_returncode()
        return json.loads(child.stdout)["responsive_window_s"]

    def minimal_start():
        return float(subprocess.run([sys.executable, "-c", STARTUP_MINIMAL], capture_output=True, text=True,
                                    check=True).stdout.split()[0])

    if app_first:
        app_s = app_start()
        return app_s, minimal_start()
    minimal_s = minimal_start()
    return app_start(), minimal_s


def open_window(width, height):
    """The app and its main window with the default scene, ``width`` x ``height``,
    offscreen, as ``main.py`` opens it, once the scene has settled: (app, window)."""
    from hillwalk.gui.app import application
    from hillwalk.gui.main_window import MainWindow
    from hillwalk.main import use_all_cores

    use_all_cores()   # as ``main.py`` does before it opens the window
    app = application()
    window = MainWindow(settings=None)
    window.resize(width, height)
    window.show()
    settle(app, window)
    return app, window


def run_window(rounds):
    import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

    from PyQt6 import QtCore
    from PyQt6.QtTest import QTest

    app, window = open_window(1600, 1000)
    clock = Clock(QtCore)
    clock.timer.start()
    measures = {name: [] for name in TARGETS_MS}
    try:
        for index in range(rounds):
            results, gaps = one_round(app, window, clock, QtCore, QTest, index)
            for name, value in results.items():
                measures[name].append(value)
            measures["longest GUI gap"].append(max(gaps))
    finally:
        clock.timer.stop()
        window.state.jobs.wait(20000)
        window.close()
    return measures


if __name__ == "__main__":
    main()
