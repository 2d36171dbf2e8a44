"""Contour tracing (gui/contours.py, contourpy) against references measured in the same run.

Cases, 10 levels each on a 401 x 401 slice (the app's largest usual grid):

* ``iris_slice``: the loss of a linear softmax classifier on iris around its trained
  centre (a real landscape: a few long, smooth lines);
* ``rugged``: a smooth surface plus noise (short lines and saddles everywhere: the worst case
  for the number of vertices).

For each: the tracing time (best and median of 7 runs) as a ratio to the 50 ms frame
budget, and to two costs of the same slice measured here: one full-slice NumPy pass (the
log colour scale's ``display_values``: clip, log10) and pyqtgraph's conversion of the slice
into the heatmap's image (``ImageItem.render`` with the colour map's lookup table).

Then the GUI thread's side (unless ``--quick``): the longest gap of a 1 ms ticker on the
main thread while a worker thread traces the limits' worst case (a rugged 2001 x 2001 slice,
100 levels), as a ratio to the frame budget, for the app's choice of contourpy algorithm
(threaded, one thread: it marches with the GIL released) and for contourpy's default
("serial", which holds the GIL for the whole call).

Prints a line per measurement and, last, one JSON object.
Run: .venv/bin/python benchmarks/bench_contours.py [--quick]
"""
import argparse
import json
import os
import threading
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import contourpy  # noqa: E402
import pyqtgraph as pg  # noqa: E402

from hillwalk.core import experiment  # noqa: E402
from hillwalk.core.landscapes.slices import SliceSpec  # noqa: E402
from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402
from hillwalk.gui.contours import contour_levels, contour_lines  # noqa: E402
from hillwalk.gui.figures import DEFAULT_COLORMAP, color_range, display_values  # noqa: E402

FRAME_BUDGET_S = 0.050
GRID = 401
LEVELS = 10
RUNS = 7


def iris_slice(grid=GRID):
    problem = ClassifierSpec(dataset="iris")
    spec = SliceSpec(grid=grid)
    objective = experiment.build_objective(problem)
    plane = experiment.build_plane(objective, spec)
    landscape = experiment.compute_landscape(objective, plane, spec)
    return landscape.values, landscape.alphas, landscape.betas


def rugged_slice(grid=GRID, seed=0):
    xs = np.linspace(-1.0, 1.0, grid)
    rng = np.random.default_rng(seed)
    values = np.sin(5 * xs[None, :]) * np.cos(4 * xs[:, None]) + 0.05 * rng.standard_normal((grid, grid))
    return values, xs, xs.copy()


def timed(function):
    """(best, median) seconds of RUNS calls, and the last result."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), float(np.median(times)), result


def heatmap_image_cost(values):
    """Best and median seconds for pyqtgraph to turn the slice into the heatmap's image."""
    pg.mkQApp()
    item = pg.ImageItem(axisOrder="row-major")
    item.setLookupTable(pg.colormap.get(DEFAULT_COLORMAP).getLookupTable(nPts=256))
    item.setImage(values, autoLevels=False, levels=color_range(values))
    best, median, _ = timed(item.render)
    return best, median


def case(name, values, xs, ys):
    best, median, lines = timed(lambda: contour_lines(values, xs, ys, LEVELS))
    numpy_best, numpy_median, _ = timed(lambda: display_values(values, True))
    image_best, image_median = heatmap_image_cost(values)
    length = float(np.nansum(np.hypot(np.diff(lines.x), np.diff(lines.y))))
    result = {"grid": list(values.shape), "levels": len(contour_levels(values, LEVELS)),
              "vertices": int(np.isfinite(lines.x).sum()), "lines": int(np.isnan(lines.x).sum()) + 1,
              "total_length": round(length, 6),
              "trace_best_ms": round(best * 1e3, 2), "trace_median_ms": round(median * 1e3, 2),
              "numpy_pass_best_ms": round(numpy_best * 1e3, 2), "heatmap_image_best_ms": round(image_best * 1e3, 2),
              "ratio_to_frame_budget": round(best / FRAME_BUDGET_S, 3),
              "ratio_to_numpy_pass": round(best / numpy_best, 2),
              "ratio_to_heatmap_image": round(best / image_best, 2)}
    print(f"{name}: {values.shape[0]} x {values.shape[1]}, {result['levels']} levels, {result['lines']} lines, "
          f"{result['vertices']} vertices: traced in {result['trace_best_ms']} ms (median {result['trace_median_ms']}"
          f" ms) = {result['ratio_to_frame_budget']} of the 50 ms frame budget, "
          f"{result['ratio_to_numpy_pass']}x one NumPy pass over the slice ({result['numpy_pass_best_ms']} ms), "
          f"{result['ratio_to_heatmap_image']}x making the heatmap's image ({result['heatmap_image_best_ms']} ms)")
    return result


def longest_gap_while(work):
    """Seconds of the longest pause of a 1 ms ticker on this thread while ``work`` runs in
    another thread (a pause is time the GUI thread could not have run Python), and the
    seconds ``work`` took."""
    done = threading.Event()
    took = []

    def run():
        started = time.perf_counter()
        work()
        took.append(time.perf_counter() - started)
        done.set()

    worker = threading.Thread(target=run)
    last, gap = time.perf_counter(), 0.0
    worker.start()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    worker.join()
    return gap, took[0]


def gil_case():
    values, xs, ys = rugged_slice(2001)
    levels = contour_levels(values, 100)

    def serial():
        generator = contourpy.contour_generator(xs, ys, values, name="serial", line_type="ChunkCombinedNan",
                                                chunk_size=0, corner_mask=False)
        generator.multi_lines(levels)

    result = {}
    for name, work in (("app", lambda: contour_lines(values, xs, ys, 100)), ("contourpy_serial", serial)):
        gap, took = longest_gap_while(work)
        result[name] = {"trace_s": round(took, 3), "longest_gap_ms": round(gap * 1e3, 1),
                        "gap_ratio_to_frame_budget": round(gap / FRAME_BUDGET_S, 2)}
        print(f"GUI thread while a worker traces 2001 x 2001, 100 levels ({name}): traced in {took:.2f} s, "
              f"longest gap {gap * 1e3:.1f} ms = {gap / FRAME_BUDGET_S:.2f} of the frame budget")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2001 x 2001 GUI-thread measurement")
    args = parser.parse_args()
    results = {"iris_slice": case("iris_slice", *iris_slice()), "rugged": case("rugged", *rugged_slice())}
    if not args.quick:
        results["gui_thread_2001"] = gil_case()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
