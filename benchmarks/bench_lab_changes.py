"""How long a lab holds the GUI thread when a person changes one of its settings.

The app is opened offscreen at 1280 x 720 with its default scene (``bench_window``'s
``open_window``), a lab is shown, and its settings are changed one after the other, as a
person would, ``--rounds`` times; a 5 ms timer ticks on the GUI thread
(``bench_window.Clock``), and the longest gap between two ticks from the change until the
lab's result is drawn (no job live, no staged drawing pending, the window settled) is how
long the window could not answer. Target: the issue's 50 ms for any GUI-thread gap.

The labs and their changes (``--lab``, several allowed; all by default):

- Initialization: every choice of its Input and Activation boxes, then back to the first;
  8 hidden layers and back; batch norm on and off;
- Babysitting: the learning rate x3 and back, the batch size 32 and back, the epochs 20 and
  back, the seed 1 and back, and the largest run its boxes allow (1000 epochs) and back;
- Hinge anatomy: the example 1, 2, 3 and back to 0, and each toy weight;
- Gradient check: "break the gradient" on and off, the forward difference and back, h 1e-3
  and back;
- Compare two models: the second model a network and back, then its batch norm on and off.

With ``--load N`` (0 by default) N CPU-bound processes run beside the app.

Prints, for each lab, min / median / max of the longest gaps over its changes and the
median as a ratio to the target (above 1: missed), and the changes over the target.

Run: .venv/bin/python benchmarks/bench_lab_changes.py [--lab Babysitting] [--rounds 2] [--load 0]
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


def initialization_changes(lab):
    """(name, change) pairs: every Input and Activation choice, then back to the first; the
    hidden layers 8 and back; batch norm on and off."""
    changes = []
    for name, box in (("input", lab.inputs), ("activation", lab.activation)):
        for index in [*range(1, box.count()), 0]:
            changes.append((f"{name} {box.itemText(index)}", lambda box=box, index=index: box.setCurrentIndex(index)))
    for value in (8, lab.depth.value()):
        changes.append((f"hidden layers {value}", lambda value=value: lab.depth.setValue(value)))
    for on in (True, False):
        changes.append((f"batch norm {'on' if on else 'off'}", lambda on=on: lab.batchnorm.setChecked(on)))
    return changes


def gradient_check_changes(lab):
    changes = []
    for on in (True, False):
        changes.append((f"break {'on' if on else 'off'}", lambda on=on: lab.broken.setChecked(on)))
    for index in (1, 0):
        changes.append((f"method {lab.method.itemText(index)}", lambda index=index: lab.method.setCurrentIndex(index)))
    for value in (1e-3, lab.h.value()):
        changes.append((f"h {value:g}", lambda value=value: lab.h.setValue(value)))
    return changes


def compare_changes(lab):
    """The second model's kind (a network and back), its batch norm on and off."""
    editor = list(lab.editors.values())[-1]
    changes = []
    for index in (1, 0):
        changes.append((f"model {editor.model.itemText(index)}", lambda index=index: editor.model.setCurrentIndex(index)))
    changes.append(("network", lambda: editor.model.setCurrentIndex(1)))
    for on in (True, False):
        changes.append((f"batch norm {'on' if on else 'off'}", lambda on=on: editor.batchnorm.setChecked(on)))
    changes.append(("linear", lambda: editor.model.setCurrentIndex(0)))
    return changes


def babysitting_changes(lab):
    lr = lab.lr.value()
    changes = []
    for name, box, values in (("lr", lab.lr, (3 * lr, lr)), ("batch", lab.batch, (32, lab.batch.value())),
                              ("epochs", lab.epochs, (20, lab.epochs.value())), ("seed", lab.seed, (1, lab.seed.value())),
                              ("epochs", lab.epochs, (1000, lab.epochs.value()))):
        for value in values:
            changes.append((f"{name} {value:g}", lambda box=box, value=value: box.setValue(value)))
    return changes


def hinge_changes(lab):
    changes = [(f"example {value}", lambda value=value: lab.example.setValue(value)) for value in (1, 2, 3, 0)]
    for index in [*range(1, lab.weight.count()), 0]:
        changes.append((f"toy weight {lab.weight.itemText(index)}",
                        lambda index=index: lab.weight.setCurrentIndex(index)))
    return changes


LABS = {"Initialization": initialization_changes, "Babysitting": babysitting_changes, "Hinge anatomy": hinge_changes,
        "Gradient check": gradient_check_changes, "Compare two models": compare_changes}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lab", action="append", choices=sorted(LABS), help="the lab (several allowed; all by default)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--load", type=int, default=0, help="CPU-bound processes beside the app")
    parser.add_argument("--verbose", action="store_true", help="print each change's gap")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", bench_window.HOG]) for _ in range(args.load)]
    try:
        found = measure(args.lab or list(LABS), args.rounds, args.verbose)
    finally:
        for hog in hogs:
            hog.kill()
    print(f"offscreen 1280 x 720, {args.load} CPU-bound processes beside it; each lab's longest GUI-thread gap at "
          f"each change of its settings ({args.rounds} rounds), min / median / max")
    for name, gaps in found.items():
        values = [gap for _change, gap in gaps]
        median = statistics.median(values)
        over = sorted({change for change, gap in gaps if gap > TARGET_MS})
        print(f"  {name:16s} {len(values):3d} changes  {min(values):5.0f} / {median:5.0f} / {max(values):5.0f} ms   "
              f"target {TARGET_MS} ms   ratio {median / TARGET_MS:5.2f}"
              + (f"   over the target: {', '.join(over)}" if over else ""))


def measure(labs, rounds, verbose=False):
    """{lab: [(change, longest gap in ms)]}."""
    import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

    from PyQt6 import QtCore

    app, window = bench_window.open_window(1280, 720)
    clock = bench_window.Clock(QtCore)
    clock.timer.start()
    found = {}
    try:
        for name in labs:
            window.show_lab(name)
            settle(app, window)
            lab = window.labs[name]
            gaps = found[name] = []
            for _round in range(rounds):
                for change, make in LABS[name](lab):
                    clock.reset()
                    make()
                    settle(app, window)
                    gaps.append((change, clock.longest_ms))
                    if verbose:
                        print(f"    {name}: {change}: {clock.longest_ms:.0f} ms", flush=True)
    finally:
        window.state.jobs.wait(20000)
        window.close()
    return found


def settle(app, window, quiet_s=0.2):
    """Process events until the lab's work is done and drawn, then ``quiet_s`` more."""
    bench_window.settle(app, window)
    deadline = time.perf_counter() + quiet_s
    while time.perf_counter() < deadline or not window.scene_complete():
        app.processEvents()
        time.sleep(0.001)


if __name__ == "__main__":
    main()
