"""How long a lab holds the GUI thread when a person changes one of its settings.

The app is opened offscreen at 1280 x 720 with its default scene (``bench_window``'s
``open_window``), the Initialization lab is shown, and each choice of its Input and
Activation boxes is made in turn, ``--rounds`` times; a 5 ms timer ticks on the GUI thread
(``bench_window.Clock``), and the longest gap between two ticks from the change until the
lab's result is drawn (no job live, no staged drawing pending, the window settled) is how
long the window could not answer. Target: the issue's 50 ms for any GUI-thread gap.

With ``--load N`` (0 by default) N CPU-bound processes run beside the app.

Prints min / median / max of the longest gaps over all changes and the median as a ratio
to the target (above 1: missed).

Run: .venv/bin/python benchmarks/bench_lab_changes.py [--rounds 2] [--load 0]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import bench_window  # noqa: E402  (the window benchmark's helpers: same folder)

TARGET_MS = 50
LAB = "Initialization"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--load", type=int, default=0, help="CPU-bound processes beside the app")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", bench_window.HOG]) for _ in range(args.load)]
    try:
        gaps = measure(args.rounds)
    finally:
        for hog in hogs:
            hog.kill()
    median = statistics.median(gaps)
    print(f"{LAB} lab, offscreen 1280 x 720, {args.load} CPU-bound processes beside it; the longest GUI-thread gap "
          f"at each of {len(gaps)} changes of its Input and Activation")
    print(f"  longest gap {min(gaps):7.0f} / {median:7.0f} / {max(gaps):7.0f} ms   target {TARGET_MS} ms   "
          f"ratio {median / TARGET_MS:5.2f}")


def measure(rounds):
    import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

    from PyQt6 import QtCore

    app, window = bench_window.open_window(1280, 720)
    clock = bench_window.Clock(QtCore)
    clock.timer.start()
    window.show_lab(LAB)
    settle(app, window)
    lab = window.labs[LAB]
    gaps = []
    try:
        for _round in range(rounds):
            for box in (lab.inputs, lab.activation):
                for index in [*range(1, box.count()), 0]:   # every choice, then back to the first
                    clock.reset()
                    box.setCurrentIndex(index)
                    settle(app, window)
                    gaps.append(clock.longest_ms)
    finally:
        window.state.jobs.wait(20000)
        window.close()
    return gaps


def settle(app, window, quiet_s=0.2):
    """Process events until the lab's work is done and drawn, then ``quiet_s`` more."""
    bench_window.settle(app, window)
    deadline = time.perf_counter() + quiet_s
    while time.perf_counter() < deadline or not window.scene_complete():
        app.processEvents()
        time.sleep(0.001)


if __name__ == "__main__":
    main()
