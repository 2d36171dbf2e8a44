"""A long race playing in the window: does the GUI thread keep answering once the trails
are longer than they are drawn through (MAX_DRAWN_POINTS, 1500 rows)?

The default scene at 1280 x 720, offscreen, a 100000-step race played at the fastest
speed. The window's 5 ms GUI-thread timer (as ``bench_window.py``'s) gives the longest
gap between its ticks and the race steps played per second, in two stretches of the same run:
the reference while the trails are shorter than 1500 rows (the race's first 1400 steps),
then ``--seconds`` once they are longer. Printed as ratios, long trails / short trails, min
/ median / max over the rounds (each round a fresh race): near 1, the long trails cost no
more a frame. (Drawn through rows spaced evenly over the rows so far, every row of every
trail moved at every frame past 1500: paints of 150-170 ms.)

Run: .venv/bin/python benchmarks/bench_long_race.py [--rounds 3] [--seconds 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import hillwalk.blas_setup  # noqa: E402, F401  (before NumPy: it sets the BLAS library's environment)

from hillwalk.benchmarks.bench_window import Clock, open_window, type_value  # noqa: E402

SHORT_STEPS = 1400   # the reference stretch: trails shorter than MAX_DRAWN_POINTS


def play(app, window, clock, until_frame, seconds):
    """Run the event loop until the race's frame reaches ``until_frame`` or ``seconds``
    pass; returns (longest gap in ms, frames played per second)."""
    clock.reset()
    first, started = window.state.frame, time.perf_counter()
    while window.state.frame < until_frame and time.perf_counter() - started < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    return clock.longest_ms, (window.state.frame - first) / max(elapsed, 1e-9)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="the long-trail stretch of each round")
    args = parser.parse_args()

    from PyQt6 import QtCore
    from PyQt6.QtTest import QTest

    app, window = open_window(1280, 720)
    window.speed.setCurrentIndex(window.speed.count() - 1)   # the fastest playback
    clock = Clock(QtCore)
    clock.timer.start()
    rows = []
    try:
        for index in range(args.rounds):
            # a fresh race each round (a new seed), played from its start
            type_value(QtCore, QTest, window.optimizers_panel.seed, str(index + 1))
            type_value(QtCore, QTest, window.optimizers_panel.steps, "100000")
            window.state.set_frame(0)
            window.state.set_playing(True)
            short_gap, short_rate = play(app, window, clock, SHORT_STEPS, 60.0)
            long_gap, long_rate = play(app, window, clock, 10 ** 9, args.seconds)
            rows.append((short_gap, long_gap, short_rate, long_rate, window.state.frame))
    finally:
        window.state.jobs.cancel_all()
        window.state.jobs.wait(20000)
        window.close()

    def summary(values, digits=2):
        return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} / {max(values):.{digits}f}"

    print(f"a 100000-step race played at the fastest speed, 1280 x 720, offscreen; min / median / max of "
          f"{args.rounds} rounds")
    print(f"  longest GUI gap, trails < 1500 rows: {summary([r[0] for r in rows], 0)} ms; longer "
          f"({args.seconds:.0f} s, up to step {summary([r[4] for r in rows], 0)}): {summary([r[1] for r in rows], 0)} ms")
    print(f"    long / short                       {summary([r[1] / r[0] for r in rows])}")
    print(f"  race steps played a second, short: {summary([r[2] for r in rows], 1)}; long: {summary([r[3] for r in rows], 1)}")
    print(f"    long / short                       {summary([r[3] / r[2] for r in rows])}")


if __name__ == "__main__":
    main()
