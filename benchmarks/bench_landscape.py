"""Landscape fast path against the textbook evaluation, measured in the same run.

Linear classifiers have a fast path (``compute_slice``'s "fast" method); the cases
``digits_{softmax,svm}_101`` and ``cifar_sized_{softmax,svm}_101`` time it as the best of
three runs against the textbook evaluation, which forms ``W' = W + a D1 + b D2`` for every
grid point and computes the full loss from ``X @ W'^T``. For the CIFAR-sized cases the
textbook evaluation is timed on a random sample of grid points and extrapolated to the whole
grid (the output says so).

Networks (since issue 17 on their own exact fast path, measured by
``bench_network_slice.py``) are timed here on the generic path (``method="generic"``), their
batched evaluation (``Network.evaluate_batch``, points of a
chunk shared among one thread per core with BLAS held to one thread each), timed against
point-by-point ``loss(theta)`` on a sample of grid points, extrapolated. Each network case
reports the rate of useful work it reaches (the textbook forward pass,
``2 N sum_layers fan_in * fan_out`` flops a point) as a fraction of this machine's
matrix-multiply throughput, measured in the same run: the best of several 1024 x 1024
products, taken before and after the case (the machines are shared and noisy).

- ``digits_net64_relu_101``: one hidden layer of 64 ReLU units, the plain two-layer net,
  whose batched evaluation is a fast path (layers as views of theta, products into
  preallocated buffers: ``2 N (D H + H C)`` flops a point).
- ``digits_net64-64-64_relu_101``: three hidden layers of 64 ReLU units
  (``ClassifierSpec(model="net", hidden=(64, 64, 64))``). A deeper network has no fast
  path: its batched evaluation runs the point-by-point functions themselves in several
  threads, so its speedup is the threads' (and BLAS's threading at small products, see
  below), not an algorithm's.
- ``digits_net64-64-64_relu_bn_eval_dropout_off_101``: the same net with batch norm and
  dropout (keep 0.8), sliced as a slice sees it by default: batch norm in "eval" mode (the
  centre's running statistics), dropout "off" (``SliceSpec.objective_in_modes``). Same
  useful flops as the plain deep case; the difference in time is what batch norm costs the
  generic path, printed as the ratio of the two cases' batched times (their runs alternate,
  so both see the same load) and of their one-thread point-by-point times.

The deep cases also measure the products alone at their layers' shapes
(``(N x fan_in)(fan_in x fan_out)`` into preallocated buffers, one per layer, on as many
threads as the batched path with BLAS held to one): the ceiling of any evaluation built on
these products, reported with the fraction of it the evaluation reaches.

The deep cases time the point-by-point reference twice on the same sample: with the BLAS
library's default threads (as the two-layer case does) and with BLAS held to one thread.
On a busy machine the library's threads can slow a product of this size tenfold, which
inflates the first speedup; the second is the one against the best plain evaluation.

Prints a line per case and, last, one JSON object:
``{case: {fast_s, reference_s, reference_extrapolated, speedup, max_rel_err, ...}}``
(network cases: ``batched_s`` instead of ``fast_s``).

Run: .venv/bin/python benchmarks/bench_landscape.py [--quick] [--only linear|net|deep]
(``net``: every network case; ``deep``: the two deep ones)
"""
import argparse
import json
import threading
import time
import tracemalloc

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from hillwalk.core.data.datasets import Dataset  # noqa: E402
from hillwalk.core.landscapes.centers import train_full_batch  # noqa: E402
from hillwalk.core.landscapes.directions import random_plane  # noqa: E402
from hillwalk.core.landscapes.landscape import Parallelism, compute_slice, make_axis, reference_slice, set_parallelism  # noqa: E402
from hillwalk.core.landscapes.slices import SliceSpec  # noqa: E402
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
                landscape = compute_slice(objective, plane, axis, axis, "total", method="generic")
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


DEEP_HIDDEN = (64, 64, 64)
# a slice's default modes for a network with batch norm or dropout
SLICE_MODES = SliceSpec(bn_mode="eval", dropout_mode="off")


def layer_dims(objective):
    """[D, width_1, ..., width_L, C]: fan-in and fan-out of every affine layer in order."""
    return [objective.X.shape[1], *objective.widths, objective.n_classes]


def useful_flops_per_point(objective):
    """The textbook forward pass's multiply-adds, twice: ``2 N sum_layers fan_in * fan_out``."""
    dims = layer_dims(objective)
    return 2 * objective.X.shape[0] * sum(a * b for a, b in zip(dims[:-1], dims[1:]))


def layer_products_rate(n, dims, workers, passes=200):
    """Flop rate of only the products of a forward pass at the generic path's shapes,
    ``(n x dims[i]) (dims[i] x dims[i+1])`` written into preallocated buffers, run by
    ``workers`` threads at once with BLAS held to one thread each (as the batched path
    runs them): the ceiling of that path at these shapes, whatever its other work."""
    rng = np.random.default_rng(0)
    buffers = [([rng.standard_normal((n, a)) for a in dims[:-1]],
                [rng.standard_normal((a, b)) for a, b in zip(dims[:-1], dims[1:])],
                [np.empty((n, b)) for b in dims[1:]]) for _ in range(workers)]

    def run(inputs, weights, outputs, start):
        start.wait()
        for _ in range(passes):
            for x, w, out in zip(inputs, weights, outputs):
                np.matmul(x, w, out=out)

    best = float("inf")
    with threadpool_limits(1, user_api="blas"):
        for _ in range(5):
            start = threading.Barrier(workers + 1)
            threads = [threading.Thread(target=run, args=(*own, start)) for own in buffers]
            for thread in threads:
                thread.start()
            start.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            best = min(best, time.perf_counter() - started)
    return 2 * n * sum(a * b for a, b in zip(dims[:-1], dims[1:])) * passes * workers / best


def blas_threads():
    """Threads the BLAS library uses by default here (for the output)."""
    return sum(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


def deep_problem(batchnorm=False, keep_prob=1.0):
    """The 64-64-64 ReLU net on digits (built from its spec, as the app builds it), trained
    50 steps; returns (the network, the network in the slice's modes, the centre).

    With batch norm or dropout the slice's objective is the one a slice uses by default
    (``SliceSpec``: batch norm "eval" with the centre's running statistics, dropout "off").
    """
    objective = ClassifierSpec(dataset="digits", loss="softmax", regularizer="l2", lam=1e-3, model="net",
                               hidden=DEEP_HIDDEN, activation="relu", init="he", batchnorm=batchnorm,
                               keep_prob=keep_prob).build()
    # BLAS held to one thread: the training is setup, not timed, and many threads at these
    # small products only slow it on a shared machine
    with threadpool_limits(1, user_api="blas"):
        center, _, _ = train_full_batch(objective, objective.initial_theta(seed=0), 50, record=False)
        sliced = SLICE_MODES.objective_in_modes(objective, center)
    return objective, sliced, center


class DeepCase:
    """One deep case: its problem, plane and grid, and its batched runs so far."""

    def __init__(self, grid=101, batchnorm=False, keep_prob=1.0):
        self.grid, self.keep_prob = grid, keep_prob
        self.objective, self.sliced, center = deep_problem(batchnorm, keep_prob)
        self.plane = random_plane(self.objective, center, "filter", seed=1)
        self.axis = make_axis(-1.0, 1.0, grid)
        self.runs, self.batched = [], None

    def time_batched(self):
        """One batched run (the default parallelism set by the caller)."""
        started = time.perf_counter()
        self.batched = compute_slice(self.sliced, self.plane, self.axis, self.axis, "total", method="generic")
        self.runs.append(time.perf_counter() - started)

    def finish(self, quick, peak, products, workers):
        """Time the point-by-point reference on a sample of grid points (with the BLAS
        library's own threads, then with BLAS held to one), print the case's line and
        return its results. ``peak``: the matmul rate, ``products``: the layer products'
        rate (:func:`layer_products_rate`), both measured around the batched runs."""
        grid, sliced = self.grid, self.sliced
        batched_s = min(self.runs)
        sample = 200 if quick else 1000
        points = np.random.default_rng(0).choice(grid * grid, sample, replace=False)

        def timed_reference():
            started = time.perf_counter()
            values = reference_slice(sliced, self.plane, self.axis, self.axis, "total", points=points)
            return (time.perf_counter() - started) * grid * grid / sample, values

        library_threads = blas_threads()
        reference_s, reference = timed_reference()
        with threadpool_limits(1, user_api="blas"):
            reference1_s, reference1 = timed_reference()
        values = self.batched.values
        max_err = max(max_relative_error(values, reference), max_relative_error(values, reference1))
        flops_per_point = useful_flops_per_point(self.objective)
        rate = flops_per_point * grid * grid / batched_s
        modes = sliced.modes()
        result = {"batched_s": round(batched_s, 3), "workers": workers, "reference_s": round(reference_s, 2),
                  "reference_blas_threads": library_threads, "reference_blas1_s": round(reference1_s, 2),
                  "reference_extrapolated": True, "reference_points_timed": sample,
                  "speedup": round(reference_s / batched_s, 2),
                  "speedup_vs_blas1": round(reference1_s / batched_s, 2),
                  "max_rel_err": max_err, "flops_per_point": flops_per_point,
                  "gflops": round(rate / 1e9, 1), "matmul_gflops": round(peak / 1e9, 1),
                  "fraction_of_matmul": round(rate / peak, 3), "grid": f"{grid}x{grid}",
                  "layer_products_gflops": round(products / 1e9, 1),
                  "fraction_of_layer_products": round(rate / products, 3),
                  "method": self.batched.method, "batchnorm": modes["batchnorm"], "dropout": modes["dropout"]}
        variant = "" if sliced is self.objective else \
            f" with batch norm and dropout p={self.keep_prob:g}, sliced in " \
            f"{SLICE_MODES.mode_info(self.objective)['modes']},"
        print(f"digits {'-'.join(map(str, DEEP_HIDDEN))} ReLU net{variant} {grid}x{grid}: batched {batched_s:.2f} s "
              f"({workers} threads, BLAS held to one; {self.batched.method} path), point by point "
              f"{reference_s:.2f} s with the BLAS library's {library_threads} threads, {reference1_s:.2f} s with "
              f"BLAS held to one (each timed on {sample} points, extrapolated), speedup {result['speedup']}x "
              f"({result['speedup_vs_blas1']}x against the one-thread reference), max rel err {max_err:.1e}; "
              f"{flops_per_point / 1e6:.1f} MFLOP a point, {rate / 1e9:.1f} GFLOP/s of useful work = "
              f"{result['fraction_of_matmul']:.2f} of the measured matrix-multiply throughput "
              f"({peak / 1e9:.1f} GFLOP/s, 1024x1024 float64); the layer products alone at these shapes on "
              f"{workers} threads run at {products / 1e9:.1f} GFLOP/s, of which the whole evaluation reaches "
              f"{rate / products:.2f}", flush=True)
        return result


def run_deep_cases(quick=False, grid=101):
    """The 64-64-64 ReLU net on digits, 101 x 101, plain and with batch norm and dropout
    (sliced in "eval" / "off" modes): the batched generic path against point by point.

    The two cases' batched runs alternate (best of three each, two with ``quick``), so a
    change in the machine's load hits both alike and the ratio of their times, what batch
    norm costs the generic path, is measured in the same conditions.
    """
    name = "digits_net" + "-".join(map(str, DEEP_HIDDEN)) + "_relu"
    plain, with_bn = DeepCase(grid), DeepCase(grid, batchnorm=True, keep_prob=0.8)
    all_cores = Parallelism.all_cores(lambda: threadpool_limits(1, user_api="blas"))
    workers = all_cores.workers
    # the two cases' affine layers have the same shapes: one products ceiling serves both;
    # like the matmul peak, the best of before and after the batched runs
    peak_before = matmul_throughput()
    products_before = layer_products_rate(plain.objective.X.shape[0], layer_dims(plain.objective), workers)
    previous = set_parallelism(all_cores)
    try:
        for _ in range(2 if quick else 3):
            plain.time_batched()
            with_bn.time_batched()
    finally:
        set_parallelism(previous)
    peak = max(peak_before, matmul_throughput())
    products = max(products_before, layer_products_rate(plain.objective.X.shape[0], layer_dims(plain.objective),
                                                        workers))
    results = {f"{name}_{grid}": plain.finish(quick, peak, products, workers),
               f"{name}_bn_eval_dropout_off_{grid}": with_bn.finish(quick, peak, products, workers)}
    bn = results[f"{name}_bn_eval_dropout_off_{grid}"]
    bn["batched_s_over_plain"] = round(min(with_bn.runs) / min(plain.runs), 2)
    bn["reference_blas1_s_over_plain"] = round(bn["reference_blas1_s"] / results[f"{name}_{grid}"]["reference_blas1_s"], 2)
    print(f"batch norm (eval) with dropout off costs the generic path {bn['batched_s_over_plain']}x the plain deep "
          f"net's batched time (alternating runs, same useful flops); point by point with BLAS held to one, "
          f"{bn['reference_blas1_s_over_plain']}x", flush=True)
    return results


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
    parser.add_argument("--only", choices=["linear", "net", "deep"], default=None,
                        help="run only these cases (net: every network case; deep: the 3-hidden-layer ones)")
    args = parser.parse_args()
    results = {}
    if args.only in (None, "net"):
        results["digits_net64_relu_101"] = run_network_case(args.quick)
    if args.only in (None, "net", "deep"):
        results.update(run_deep_cases(args.quick))
    if args.only in ("net", "deep"):
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
