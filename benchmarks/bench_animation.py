"""Per-frame cost of the race animation: 8 paths of 1000 steps on the heatmap, the cut
and the curves, updated by setData on existing items (what the GUI's QTimer does).

Prints the mean and 95th percentile of one frame's update with a forced repaint of the whole
window, and, as a reference measured in the same run, the cost of one full repaint of the
window without any change, so the ratio says what the animation adds; then the frame as
the app's timer runs it (the updates, then Qt painting only what they made dirty), which
is what issue 17's 16 ms target is about.

A frame's cost is the GUI thread's CPU time from the change until each of the three
figures has painted it: the app spreads that work over turns of the event loop
(``gui.pacing``: the cut and the curves follow the heatmap a few ms later, the figures
paint one per window paint at their phases of the frame, the curves every other frame),
and the time the thread waits between them is free for input, not counted.
Run: .venv/bin/python benchmarks/bench_animation.py
"""
import json
import os
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6 import QtCore, QtWidgets  # noqa: E402

from hillwalk.core.optimization.optimizers import OptimizerSpec  # noqa: E402
from hillwalk.gui.app import application, wait_for_scene  # noqa: E402
from hillwalk.gui.main_window import MainWindow  # noqa: E402


def main():
    app = application()
    window = MainWindow(settings=None, autostart=False)
    window.resize(1600, 1000)
    window.show()
    state = window.state
    state.set_race(steps=1000)
    for k in range(4):  # 8 methods in all
        state.add_optimizer(OptimizerSpec(("sgd", "nesterov", "adagrad", "adam")[k], lr=0.002 * (k + 1),
                                          batch_size=64))
    state.set_playing(False)
    state.start()
    if not wait_for_scene(window, timeout_s=600):
        raise SystemExit("the scene did not finish")
    assert len(state.runs) == 8 and all(r.steps.size == 1001 for r in state.runs.values())
    for _ in range(5):
        app.processEvents()

    figures = [window.heatmap.figure.viewport(), window.cut_panel.plot_widget.viewport(),
               window.curves.graphics.viewport()]

    class PaintsSeen(QtCore.QObject):
        """Which of the three figures have painted since ``clear()``."""

        def __init__(self):
            super().__init__()
            self.painted = set()

        def eventFilter(self, receiver, event):
            if event.type() == QtCore.QEvent.Type.Paint and receiver in figures:
                self.painted.add(id(receiver))
            return False

    seen = PaintsSeen()
    app.installEventFilter(seen)
    wake = QtCore.QTimer()   # wakes frame_done's wait now and then, should no paint come
    wake.start(50)

    def frame_done():
        """Process events until each of the three figures has painted the change (the app
        may spread that over several turns of the event loop, see the docstring)."""
        deadline = time.perf_counter() + 1.0
        while len(seen.painted) < len(figures) and time.perf_counter() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents)   # asleep until an event
        seen.painted.clear()

    def repaint():
        window.update()   # the whole window
        frame_done()

    def gui_ms(change):
        seen.painted.clear()
        started = time.thread_time()
        change()
        return 1e3 * (time.thread_time() - started)

    baseline = [gui_ms(repaint) for _ in range(30)]
    frames = [gui_ms(lambda frame=frame: (state.set_frame(frame), repaint())) for frame in range(0, 1001, 5)]
    # what a tick of the app's own animation costs: the frame's updates and Qt painting
    # what they made dirty (the window's static parts are not repainted)
    round_means = []
    for _ in range(3):   # three rounds: min / median / max of their means
        frames_as_in_app = [gui_ms(lambda frame=frame: (state.set_frame(frame), frame_done()))
                            for frame in range(0, 1001, 5)]
        round_means.append(float(np.mean(frames_as_in_app)))
    in_app_ms = np.array(frames_as_in_app)
    frame_ms = np.array(frames)
    base_ms = np.array(baseline)
    result = {"paths": 8, "steps": 1000, "frame_mean_ms": round(float(frame_ms.mean()), 2),
              "frame_p95_ms": round(float(np.percentile(frame_ms, 95)), 2),
              "repaint_only_mean_ms": round(float(base_ms.mean()), 2),
              "ratio_to_repaint": round(float(frame_ms.mean() / base_ms.mean()), 2),
              "frame_in_app_mean_ms": round(float(np.median(round_means)), 2),
              "frame_in_app_round_means_ms": [round(m, 2) for m in sorted(round_means)],
              "frame_in_app_p95_ms": round(float(np.percentile(in_app_ms, 95)), 2),
              "window": "1600x1000 offscreen"}
    print(f"frame update (8 paths x 1000 steps, heatmap + cut + curves, with repaint): mean "
          f"{result['frame_mean_ms']} ms, 95th percentile {result['frame_p95_ms']} ms; a repaint alone "
          f"{result['repaint_only_mean_ms']} ms (ratio {result['ratio_to_repaint']})")
    low, middle, high = result["frame_in_app_round_means_ms"]
    print(f"frame as the app's timer runs it (updates, then Qt paints what changed): mean per round "
          f"{low} / {middle} / {high} ms (min / median / max of 3), 95th percentile of the last "
          f"{result['frame_in_app_p95_ms']} ms; target: 16 ms mean, ratio {middle / 16:.2f}")
    print(json.dumps(result))
    window.close()
    QtWidgets.QApplication.processEvents()


if __name__ == "__main__":
    main()
