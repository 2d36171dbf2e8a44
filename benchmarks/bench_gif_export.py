"""How long the GUI thread stalls while the race is exported as a GIF, and how much memory
the export takes.

Builds the main window offscreen on the default scene (playback paused, so that only the
export competes with the timer), then exports the race (60 frames) at 800 and at 4000 px
wide through ``MainWindow.export_gif``, as File > Export does. A QTimer ticks every 5 ms on
the GUI thread; the longest gap between its ticks is printed as a ratio to a 50 ms frame
budget (1.0 = one frame late), beside the gap of the same timer with nothing running
(the reference measured in the same run), the background's pieces of GUI-thread work
(in all and the longest), and the memory: the largest resident size seen minus the size before the
export, against the estimate the export checked against its budget.

Run: .venv/bin/python benchmarks/bench_gif_export.py [--widths 800,4000] [--frames 60]
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

from PyQt6 import QtCore  # noqa: E402

import hillwalk.gui.animation as animation  # noqa: E402
from hillwalk.core.io.animation_frames import (  # noqa: E402
    GIF_MEMORY_BUDGET_BYTES,
    format_bytes,
    gif_memory_estimate,
)
from hillwalk.gui.app import application, wait_for_scene  # noqa: E402
from hillwalk.gui.main_window import MainWindow  # noqa: E402

FRAME_BUDGET_S = 0.050
TICK_MS = 5
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


class TickWatch:
    """A 5 ms timer on the GUI thread that records the longest gap between its ticks and
    the largest resident size seen."""

    def __init__(self):
        self.timer = QtCore.QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self.longest_gap = 0.0
        self.longest_gap_at = 0.0
        self.peak_resident = resident_bytes()
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def _tick(self):
        now = time.perf_counter()
        if now - self.last > self.longest_gap:
            self.longest_gap, self.longest_gap_at = now - self.last, self.last
        self.last = now
        self.peak_resident = max(self.peak_resident, resident_bytes())


def run_events_until(app, done, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.001)
    return done()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="800,4000", help="GIF widths in pixels (height = 3/4)")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    app = application()
    window = MainWindow(settings=None)
    window.resize(1600, 1000)
    window.show()
    if not wait_for_scene(window, timeout_s=900):
        raise SystemExit("the scene did not finish")
    window.state.set_playing(False)
    run_events_until(app, lambda: False, 0.5)

    background_pieces = []  # seconds of each piece of background work on the GUI thread
    background_steps = animation.race_background_steps

    def timed_background_steps(*a, **k):
        steps = background_steps(*a, **k)
        try:
            while True:
                started = time.perf_counter()
                try:
                    next(steps)
                except StopIteration as finished:
                    background_pieces.append(time.perf_counter() - started)
                    return finished.value
                background_pieces.append(time.perf_counter() - started)
                yield
        finally:
            steps.close()

    animation.race_background_steps = timed_background_steps

    watch = TickWatch()
    progress = []  # (time, text) of each progress report
    window.state.progress.connect(lambda text, fraction: progress.append((time.perf_counter(), text)))
    watch.start()
    run_events_until(app, lambda: False, 2.0)
    watch.stop()
    print(f"idle reference: longest gap between 5 ms ticks {1e3 * watch.longest_gap:.1f} ms "
          f"= {watch.longest_gap / FRAME_BUDGET_S:.2f} x the 50 ms frame budget")

    with tempfile.TemporaryDirectory() as folder:
        for width in (int(w) for w in args.widths.split(",")):
            height = width * 3 // 4
            path = Path(folder) / f"race-{width}.gif"
            resident_before = resident_bytes()
            background_pieces.clear()
            progress.clear()
            watch.start()
            started = time.perf_counter()
            export = window.export_gif(path, fps=15, width=width, frames=args.frames)
            if export is None:
                raise SystemExit(f"{width} px: refused ({window.status_message.text()})")
            if not run_events_until(app, lambda export=export: not export.running, 1800):
                raise SystemExit(f"{width} px: the export did not finish")
            elapsed = time.perf_counter() - started
            watch.stop()
            if export.result is None:
                raise SystemExit(f"{width} px: the export failed: {export.error}")
            estimate = gif_memory_estimate(width, height, args.frames)
            print(f"{width}x{height}, {export.result[1]} frames: {elapsed:.1f} s, "
                  f"file {format_bytes(path.stat().st_size)}")
            print(f"  longest GUI-thread gap {1e3 * watch.longest_gap:.0f} ms "
                  f"= {watch.longest_gap / FRAME_BUDGET_S:.2f} x the 50 ms frame budget "
                  f"(background: {len(background_pieces)} pieces on the GUI thread, "
                  f"{1e3 * sum(background_pieces):.0f} ms in all, the longest {1e3 * max(background_pieces):.0f} ms)")
            during = [text for at, text in progress if at <= watch.longest_gap_at]
            print(f"  the longest gap began {1e3 * (watch.longest_gap_at - started):.0f} ms into the export, "
                  f"after the progress report {during[-1] if during else 'none'!r}")
            print(f"  peak memory {format_bytes(watch.peak_resident - resident_before)} above the "
                  f"{format_bytes(resident_before)} before; estimate {format_bytes(estimate)}, "
                  f"budget {format_bytes(GIF_MEMORY_BUDGET_BYTES)}")
    window.state.shutdown()
    window.close()


if __name__ == "__main__":
    main()
