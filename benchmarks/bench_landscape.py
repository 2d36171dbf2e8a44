"""Landscape fast path against the textbook evaluation, measured in the same run.

Networks have no fast path: the case ``digits_net64_relu_101`` times the generic batched
path (chunks of parameter vectors through :meth:`TwoLayerNet.evaluate_batch`) against
point-by-point ``loss(theta)``, and reports the rate of useful work it reaches (the
textbook forward pass, ``2 N (D H + H C)`` flops a point) as a fraction of this machine's
matrix-multiply throughput, measured in the same run: the best of several 1024 x 1024
products, taken before and after the case (the machines are shared and noisy).

The fast path is timed as the best of three runs; the textbook evaluation forms ``W' = W + a D1 + b D2`` for every grid point and computes
the full loss from ``X @ W'^T``. For the CIFAR-sized cases it is timed on a random sample
of grid points and extrapolated to the whole grid (the output says so).

Prints a line per case and, last, one JSON object:
``{case: {fast_s, reference_s, reference_extrapolated, speedup, max_rel_err, ...}}``.

Run: .venv/bin/python benchmarks/bench_landscape.py [--quick] [--only linear|net]
"""
import argparse
import json
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from hillwalk.core.data.datasets import Dataset  # noqa: E402
from hillwalk.core.landscapes.centers import train_full_batch  # noqa: E402
from hillwalk.core.landscapes.directions import random_plane  # noqa: E402
from hillwalk.core.landscapes.landscape import Parallelism, compute_slice, make_axis, reference_slice, set_parallelism  # noqa: E402
from hillwalk.core.models.objectives import LinearClassifier  # noqa: E402
from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402
from hillwalk.core.models.regularizers import Regularizer  # noqa: E402


def cifar_sized_problem(loss, seed=0, n=10000, d=3072, classes=10):
    """Random data of CIFAR-10's shape (pixels 0..255, zero-centred), 10 classes."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, d)).astype(np.float64)
    X -= X.mean(axis=0)
    y = rng.integers(0, classes, n)
    data = Dataset(X, y, tuple(f"c{k}" for k in range(classes)), tuple(f"x{k}" for k in range(d)),
                   {"name": "cifar-sized synthetic", "source": f"random {n} x {d}, seed {seed}"})
    return LinearClassifier(data, loss=loss, regularizer=Regularizer("l2", 2.5e4 / (n * 10)))


def max_relative_error(fast, reference):
    chosen = ~np.isnan(reference)
    return float(np.max(np.abs(fast[chosen] - reference[chosen]) / np.abs(reference[chosen])))


def run_case(name, objective, center, grid, sample_points=None, seed=0):
    plane = random_plane(objective, center, "filter", seed=seed)
    axis = make_axis(-1.0, 1.0, grid)
    fast_runs = []
    for _ in range(3):  # best of three: the fast path is short enough for scheduler noise to matter
        started = time.perf_counter()
        fast = compute_slice(objective, plane, axis, axis, "total")
        fast_runs.append(time.perf_counter() - started)
    fast_s = min(fast_runs)
    points = None
    if sample_points is not None:
        points = np.random.default_rng(seed).choice(grid * grid, sample_points, replace=False)
    started = time.perf_counter()
    reference = reference_slice(objective, plane, axis, axis, "total", points=points)
    reference_s = time.perf_counter() - started
    if points is not None:
        reference_s *= grid * grid / sample_points
    result = {"fast_s": round(fast_s, 4), "reference_s": round(reference_s, 3),
              "reference_extrapolated": points is not None,
              "reference_points_timed": int(grid * grid if points is None else sample_points),
              "speedup": round(reference_s / fast_s, 1), "max_rel_err": max_relative_error(fast.values, reference),
              "fallback_points": fast.fallback_points, "grid": f"{grid}x{grid}"}
    note = f" (reference timed on {sample_points} points, extrapolated)" if points is not None else ""
    print(f"{name}: fast {fast_s:.3f} s, reference {reference_s:.2f} s{note}, speedup {result['speedup']}x, "
          f"max rel err {result['max_rel_err']:.1e}", flush=True)
    return result


def matmul_throughput(size=1024, repeats=7):
    """Best observed flop rate (per second) of a size x size float64 matrix product."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    out = np.empty((size, size))
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best


def same_shape_products_rate(objective, points=200):
    """Flop rate of only the two products a point needs, at the batched path's shapes
    ((H x D+1)(D+1 x N) and (C x H+1)(H+1 x N), written into preallocated buffers): the
    ceiling of any evaluation built on these products, whatever its elementwise work."""
    n, d = objective.X.shape
    h, c = objective.hidden, objective.n_classes
    rng = np.random.default_rng(0)
    inputs_t, hidden_t, scores_t = rng.standard_normal((d + 1, n)), np.ones((h + 1, n)), np.empty((c, n))
    layer1, layer2 = rng.standard_normal((h, d + 1)), rng.standard_normal((c, h + 1))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(points):
            np.matmul(layer1, inputs_t, out=hidden_t[:h])
            np.matmul(layer2, hidden_t, out=scores_t)
        best = min(best, time.perf_counter() - started)
    return 2 * n * (d * h + h * c) * points / best


def run_network_case(quick=False, grid=101, hidden=64):
    """A 64-hidden-unit ReLU net on digits, 101 x 101: batched against point by point."""
    objective = ClassifierSpec(dataset="digits", loss="softmax", regularizer="l2", lam=1e-3, model="net",
                               hidden=hidden, activation="relu", init="he").build()
    center, _, _ = train_full_batch(objective, objective.initial_theta(seed=0), 50, record=False)
    plane = random_plane(objective, center, "filter", seed=1)
    axis = make_axis(-1.0, 1.0, grid)
    peak_before = matmul_throughput()

    def best_time(parallelism):
        previous = set_parallelism(parallelism)
        try:
            runs = []
            for _ in range(2 if quick else 3):
                started = time.perf_counter()
                landscape = compute_slice(objective, plane, axis, axis, "total")
                runs.append(time.perf_counter() - started)
        finally:
            set_parallelism(previous)
        return min(runs), landscape

    serial_s, serial = best_time(Parallelism(1))
    all_cores = Parallelism.all_cores(lambda: threadpool_limits(1, user_api="blas"))
    workers = all_cores.workers
    batched_s, batched = best_time(all_cores)
    if max_relative_error(batched.values, serial.values) > 1e-13:
        raise SystemExit("threads changed the values beyond rounding: a bug")
    peak = max(peak_before, matmul_throughput())
    sample = 200 if quick else 1000
    points = np.random.default_rng(0).choice(grid * grid, sample, replace=False)
    started = time.perf_counter()
    reference = reference_slice(objective, plane, axis, axis, "total", points=points)
    reference_s = (time.perf_counter() - started) * grid * grid / sample
    n, d = objective.X.shape
    flops_per_point = 2 * n * (d * hidden + hidden * objective.n_classes)
    rate = flops_per_point * grid * grid / batched_s
    products = same_shape_products_rate(objective)
    result = {"batched_s": round(batched_s, 3), "workers": workers, "serial_s": round(serial_s, 3),
              "reference_s": round(reference_s, 2),
              "reference_extrapolated": True, "reference_points_timed": sample,
              "speedup": round(reference_s / batched_s, 2), "max_rel_err": max_relative_error(batched.values, reference),
              "gflops": round(rate / 1e9, 1), "matmul_gflops": round(peak / 1e9, 1),
              "fraction_of_matmul": round(rate / peak, 3), "target_fraction": 0.5, "grid": f"{grid}x{grid}",
              "same_shape_products_gflops": round(products / 1e9, 1),
              "fraction_of_same_shape_products": round(rate / products, 3),
              "method": batched.method}
    print(f"digits {hidden}-unit ReLU net {grid}x{grid}: batched {batched_s:.2f} s ({workers} threads, BLAS held to "
          f"one; {serial_s:.2f} s in one thread), point by point {reference_s:.2f} s "
          f"(timed on {sample} points, extrapolated), speedup {result['speedup']}x, max rel err "
          f"{result['max_rel_err']:.1e}; {rate / 1e9:.1f} GFLOP/s of useful work = "
          f"{result['fraction_of_matmul']:.2f} of the measured matrix-multiply throughput "
          f"({peak / 1e9:.1f} GFLOP/s, 1024x1024 float64; target 0.5); the products alone at this problem's "
          f"shapes run at {products / 1e9:.1f} GFLOP/s, of which the whole evaluation reaches "
          f"{rate / products:.2f}", flush=True)
    return result


def peak_memory_of_slice(objective, center, grid):
    plane = random_plane(objective, center, "filter", seed=0)
    axis = make_axis(-1.0, 1.0, grid)
    tracemalloc.start()
    compute_slice(objective, plane, axis, axis, "total")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run)")
    parser.add_argument("--only", choices=["linear", "net"], default=None, help="run only these cases")
    args = parser.parse_args()
    results = {}
    if args.only != "linear":
        results["digits_net64_relu_101"] = run_network_case(args.quick)
        if args.only == "net":
            print(json.dumps(results))
            return
    for loss in ("softmax", "svm"):
        objective = ClassifierSpec(dataset="digits", loss=loss, regularizer="l2", lam=1e-3).build()
        center, _, _ = train_full_batch(objective, objective.initial_theta(1e-3, 0), 300, record=False)
        results[f"digits_{loss}_101"] = run_case(f"digits {loss} 101x101", objective, center, 101,
                                                 sample_points=500 if args.quick else None)
    for loss in ("softmax", "svm"):
        objective = cifar_sized_problem(loss)
        center = objective.initial_theta(1e-4, seed=1)
        center, _, _ = train_full_batch(objective, center, 5, record=False)
        results[f"cifar_sized_{loss}_101"] = run_case(f"CIFAR-sized {loss} 101x101", objective, center, 101,
                                                      sample_points=40 if args.quick else 200)
    objective = cifar_sized_problem("softmax")
    center = objective.initial_theta(1e-4, seed=1)
    peak = peak_memory_of_slice(objective, center, 201)
    results["cifar_sized_softmax_201_peak_mb"] = round(peak / 2 ** 20, 1)
    print(f"CIFAR-sized softmax 201x201: peak additional memory {peak / 2 ** 20:.1f} MB (tracemalloc)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
