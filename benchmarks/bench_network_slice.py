"""The exact fast network slice path against today's generic path and point-by-point NumPy.

Issue 17's network targets, as ratios measured in the same run (min / median / max over
the rounds; the machines are shared and noisy):

- ``cifar_sized``: a two-layer ReLU softmax net (N = 10000, D = 3072, H = 100, C = 10,
  random data of CIFAR-10's shape, L2), 101 x 101 slice of the total loss along
  filter-normalized random directions, as the app computes it (one worker per core, BLAS
  held to one thread while they share points). The fast path runs the whole grid; the
  generic batched path (``method="generic"``, the same workers) and point-by-point NumPy
  (``reference_slice``: form ``c + a d1 + b d2`` and evaluate the loss from scratch, BLAS
  with its default threads) are timed on a 5 x 3 sub-grid and extrapolated per point, which
  the output says. Targets: >= 40x the generic path, >= 30x point by point.
- ``digits``: the app's digits net (64 ReLU units, the real 8 x 8 digits, trained centre
  as the app's default slice), 101 x 101, the fast path against the generic path on the
  whole grid. Target: >= 2x.

Exactness: the largest relative difference from point-by-point evaluation (on the sub-grid
for cifar_sized, on 200 random grid points for digits); the target is 1e-9.

Run: .venv/bin/python benchmarks/bench_network_slice.py [--rounds 3] [--quick]
"""
import argparse
import json
import statistics
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

from hillwalk.core import experiment
from hillwalk.core.data.datasets import Dataset
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.landscape import Parallelism, compute_slice, make_axis, reference_slice, set_parallelism
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.network import TwoLayerNet
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.main import use_all_cores


def cifar_sized_net(n=10000, d=3072, hidden=100, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, d)).astype(np.float64)
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    y = rng.integers(0, classes, n)
    data = Dataset(X, y, tuple(f"c{k}" for k in range(classes)), tuple(f"x{k}" for k in range(d)),
                   {"name": "cifar-sized synthetic", "source": f"random {n} x {d}, seed {seed}"})
    return TwoLayerNet(data, hidden=hidden, activation="relu", init="he", regularizer=Regularizer("l2", 1e-3))


def timed(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def relative_error(values, reference):
    mask = np.isfinite(reference)
    return float(np.max(np.abs(values[mask] - reference[mask]) / np.maximum(np.abs(reference[mask]), 1e-300)))


def cifar_round(net, plane, grid):
    alphas, betas = make_axis(-1, 1, grid), make_axis(-1, 1, grid)
    fast_s, fast = timed(lambda: compute_slice(net, plane, alphas, betas, "total"))
    sub_a, sub_b = alphas[::max(1, grid // 4)][:5], betas[::max(1, grid // 2)][:3]
    sample = sub_a.size * sub_b.size
    generic_s, generic = timed(lambda: compute_slice(net, plane, sub_a, sub_b, "total", method="generic"))
    previous = set_parallelism(Parallelism(1))
    try:   # plain NumPy: one point after another, BLAS with its own threads
        reference_s, reference = timed(lambda: reference_slice(net, plane, sub_a, sub_b, "total"))
    finally:
        set_parallelism(previous)
    columns = [int(np.flatnonzero(alphas == a)[0]) for a in sub_a]
    rows = [int(np.flatnonzero(betas == b)[0]) for b in sub_b]
    fast_sub = fast.values[np.ix_(rows, columns)]
    per_point = fast_s / alphas.size / betas.size
    return {"fast_s": fast_s, "fast_ms_per_point": 1e3 * per_point, "fallback_points": fast.fallback_points,
            "generic_ms_per_point": 1e3 * generic_s / sample, "reference_ms_per_point": 1e3 * reference_s / sample,
            "vs_generic": generic_s / sample / per_point, "vs_reference": reference_s / sample / per_point,
            "max_rel_err": max(relative_error(fast_sub, reference), relative_error(generic.values, reference))}


def digits_round(net, plane, grid, seed):
    alphas, betas = make_axis(-1, 1, grid), make_axis(-1, 1, grid)
    fast_s, fast = timed(lambda: compute_slice(net, plane, alphas, betas, "total"))
    generic_s, generic = timed(lambda: compute_slice(net, plane, alphas, betas, "total", method="generic"))
    points = np.random.default_rng(seed).choice(fast.values.size, 200, replace=False)
    reference = reference_slice(net, plane, alphas, betas, "total", points=points)
    return {"fast_s": fast_s, "generic_s": generic_s, "vs_generic": generic_s / fast_s,
            "fallback_points": fast.fallback_points,
            "max_rel_err": max(relative_error(fast.values, reference), relative_error(generic.values, reference))}


def summary(values):
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="41 x 41 grids (a smoke test, not the targets)")
    args = parser.parse_args()
    grid = 41 if args.quick else 101
    # the app's and the command line's parallelism: one worker per core, BLAS held to one
    # thread by one limit shared among them (a limit per worker, as this benchmark had,
    # restores what it found while the other worker still computes)
    use_all_cores()

    cifar = cifar_sized_net()
    cifar_plane = random_plane(cifar, cifar.initial_theta(seed=0), "filter", seed=1)
    digits_spec = ClassifierSpec(dataset="digits", model="net", hidden=64)
    digits = experiment.build_objective(digits_spec)
    digits_plane = experiment.build_plane(digits, SliceSpec(center="trained", directions="filter", seed=0))

    results = {"cifar_sized": [], "digits": []}
    started = time.perf_counter()
    for round_index in range(args.rounds):
        results["cifar_sized"].append(cifar_round(cifar, cifar_plane, grid))
        results["digits"].append(digits_round(digits, digits_plane, grid, round_index))
    print(f"network slices, {grid} x {grid}, min / median / max of {args.rounds} rounds "
          f"({time.perf_counter() - started:.0f} s in all; {Parallelism.all_cores().workers} workers)")
    cifar_rounds, digits_rounds = results["cifar_sized"], results["digits"]
    print(f"  cifar_sized (N 10000, D 3072, H 100): fast {summary([r['fast_s'] for r in cifar_rounds])} s "
          f"({summary([r['fast_ms_per_point'] for r in cifar_rounds])} ms a point)")
    print(f"    x generic path            {summary([r['vs_generic'] for r in cifar_rounds])}   (target >= 40; "
          f"generic {summary([r['generic_ms_per_point'] for r in cifar_rounds])} ms a point on a 5 x 3 sub-grid, "
          f"extrapolated)")
    print(f"    x point-by-point NumPy    {summary([r['vs_reference'] for r in cifar_rounds])}   (target >= 30; "
          f"{summary([r['reference_ms_per_point'] for r in cifar_rounds])} ms a point, extrapolated)")
    print(f"    max relative error        {max(r['max_rel_err'] for r in cifar_rounds):.1e}   (target <= 1e-9)")
    print(f"  digits (64 ReLU units, trained centre): fast {summary([r['fast_s'] for r in digits_rounds])} s, "
          f"generic {summary([r['generic_s'] for r in digits_rounds])} s")
    print(f"    x generic path            {summary([r['vs_generic'] for r in digits_rounds])}   (target >= 2)")
    print(f"    max relative error        {max(r['max_rel_err'] for r in digits_rounds):.1e}   (target <= 1e-9)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
