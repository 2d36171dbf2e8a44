"""Does the window keep answering under the worst inputs a user can type?

Each case runs in its own process (so its peak memory is its own): the app is opened
offscreen, a 5 ms timer ticks on the GUI thread, the case's work is started the way the
panels start it, and the script records the longest gap between two ticks until the work is
done. It prints that gap as a ratio to a 50 ms frame budget (the target is a gap under
100 ms, a ratio under 2) and the process's peak memory.

Cases: ``iris-100k`` (iris, the race's Steps raised to 100000), ``preset:<name>`` for each 2-D
function preset (ravine, Rosenbrock, Beale, saddle), ``gif-4000`` (the race exported as a
4000 px GIF), ``cifar-401`` (a 401 x 401 slice of a CIFAR-sized softmax classifier).

A case that keeps the GUI thread busy longer than ``--cap`` seconds is stopped by a watchdog
thread, which reports the gap so far as a lower bound (">=").

    python benchmarks/bench_responsiveness.py            # every case
    python benchmarks/bench_responsiveness.py iris-100k  # one case
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

ROOT = Path(__file__).resolve().parents[1]
FRAME_BUDGET_MS = 50.0
TICK_MS = 5
PRESETS = ("05-ravine", "06-rosenbrock", "07-beale", "08-saddle")
CASES = ("iris-100k", *(f"preset:{p}" for p in PRESETS), "gif-4000", "cifar-401")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class GapClock:
    """Longest gap between ticks of a timer on the GUI thread."""

    def __init__(self, QtCore):
        self.last = None
        self.longest = 0.0
        self.ticks = 0
        self.timer = QtCore.QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def tick(self):
        now = time.monotonic()
        if self.last is not None:
            self.longest = max(self.longest, (now - self.last) * 1000.0)
        self.last = now
        self.ticks += 1

    def start(self):
        self.last = time.monotonic()
        self.longest, self.ticks = 0.0, 0
        self.timer.start()

    def current_gap_ms(self) -> float:
        return max(self.longest, (time.monotonic() - self.last) * 1000.0) if self.last else 0.0


def report(case, gap_ms, seconds, bound=False):
    sign = ">=" if bound else ""
    print(f"{case:24s} longest GUI gap {sign}{gap_ms:8.1f} ms  ratio to 50 ms {sign}{gap_ms / FRAME_BUDGET_MS:6.2f}  "
          f"work {seconds:6.1f} s  peak memory {peak_mb():7.0f} MB", flush=True)


def run_case(case: str, cap_s: float):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtCore, QtWidgets

    from hillwalk.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(settings=None, autostart=False)
    window.resize(1600, 1000)
    window.show()
    state = window.state
    clock = GapClock(QtCore)
    started = [time.monotonic()]
    done = threading.Event()

    def watchdog():
        if not done.wait(cap_s):
            report(case, clock.current_gap_ms(), time.monotonic() - started[0], bound=True)
            os._exit(0)

    def wait_until(predicate, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not predicate() and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.001)
        return predicate()

    def idle():
        return not state.jobs.running

    if case.startswith("preset:"):
        # Load the digits scene first (what a user has open), then open the preset.
        state.start()
        wait_until(window.scene_complete, 120)
        wait_until(idle, 60)
        path = ROOT / "resources" / "presets" / f"{case.split(':', 1)[1]}.hillwalk.json"
        clock.start()
        threading.Thread(target=watchdog, daemon=True).start()
        started[0] = time.monotonic()
        window.open_session(str(path))
        wait_until(lambda: window.scene_complete() and idle(), cap_s)
    elif case == "iris-100k":
        state.set_problem(dataset="iris")  # with no scene yet, this computes the iris scene
        wait_until(window.scene_complete, 120)
        wait_until(idle, 60)
        clock.start()
        threading.Thread(target=watchdog, daemon=True).start()
        started[0] = time.monotonic()
        state.set_race(steps=100000)
        wait_until(lambda: window.scene_complete() and idle(), cap_s)
    elif case == "gif-4000":
        state.start()
        wait_until(window.scene_complete, 120)
        wait_until(idle, 60)
        target = Path(tempfile.mkdtemp()) / "race.gif"
        clock.start()
        threading.Thread(target=watchdog, daemon=True).start()
        started[0] = time.monotonic()
        window.export_gif(str(target), fps=15, width=4000, frames=60)
        wait_until(lambda: idle() and target.exists(), cap_s)
    elif case == "cifar-401":
        import numpy as np

        from hillwalk.core.data.datasets import Dataset
        from hillwalk.core.landscapes.directions import random_plane
        from hillwalk.core.landscapes.slices import SliceSpec
        from hillwalk.core.models.objectives import LinearClassifier
        from hillwalk.core.models.regularizers import Regularizer

        rng = np.random.default_rng(0)
        n, d = 10000, 3072
        data = Dataset(rng.integers(0, 256, (n, d)).astype(np.float64) - 128.0, rng.integers(0, 10, n),
                       tuple(str(k) for k in range(10)), tuple(f"x{k}" for k in range(d)), {"name": "cifar-sized"})
        objective = LinearClassifier(data, loss="softmax", regularizer=Regularizer("l2", 1e-3))
        state.objective = objective
        state.slice = SliceSpec(center="init", grid=401, init_scale=1e-4)
        state.plane = random_plane(objective, objective.initial_theta(1e-4, 0), "filter", seed=1)
        wait_until(lambda: False, 0.3)
        clock.start()
        threading.Thread(target=watchdog, daemon=True).start()
        started[0] = time.monotonic()
        state._request_slice()
        wait_until(lambda: state.landscape is not None and idle(), cap_s)
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    done.set()
    seconds = time.monotonic() - started[0]
    report(case, clock.longest, seconds)
    state.jobs.cancel_all()
    state.shutdown()
    os._exit(0)  # skip Qt's exit clean-up: only the numbers matter here


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"cases to run (default: all): {', '.join(CASES)}")
    parser.add_argument("--cap", type=float, default=120.0, help="seconds before a case is stopped (default: 120)")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        run_case(args.cases[0], args.cap)
        return
    for case in args.cases or CASES:
        subprocess.run([sys.executable, __file__, "--in-process", "--cap", str(args.cap), case], cwd=ROOT)


if __name__ == "__main__":
    main()
