"""The linear softmax fast path against a floor measured in the same run (issue 17).

The fast path's irreducible work on an na x nb grid: one scores product (X times the
centre and the two directions, N (D + 1) 3C multiply-adds), N C (na + nb) exponentials
(the factorized terms of a and of b), and the combination of the two per example
(N C na nb multiply-adds). The floor is the time of that work at this machine's rates,
measured in the same run: the scores product itself, ``np.exp`` on N C (na + nb) values,
and one large matrix product with N C na nb multiply-adds (the multiply-add rate at its
best). Targets: within 3x of the floor at 101 x 101, within 4x at 401 x 401, exact to
1e-12 (against point-by-point evaluation on 40 random grid points).

Cases: digits (the app's split, N = 1438, D = 64) and a CIFAR-sized random set
(N = 10000, D = 3072), softmax + L2, initial centre, filter-normalized plane, with the
app's parallelism (``main.use_all_cores``: the fast path's per-example products run on one
thread with BLAS held to one thread, in cache-sized tiles of rows; the scores product and
the floor's parts run on the default BLAS threads).

Run: .venv/bin/python benchmarks/bench_linear_floor.py [--rounds 3]
"""
import argparse
import statistics
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.landscape import compute_slice, make_axis, reference_slice
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.main import use_all_cores


def cifar_sized(n=10000, d=3072, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, d)).astype(np.float64)
    X -= X.mean(axis=0)
    data = Dataset(X, rng.integers(0, classes, n), tuple(f"c{k}" for k in range(classes)),
                   tuple(f"x{k}" for k in range(d)))
    return LinearClassifier(data, loss="softmax", regularizer=Regularizer("l2", 2.5e4 / (n * 10)))


def best_of(work, repeats=3):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def floor_seconds(objective, plane, na, nb):
    X = objective.X
    N, C = X.shape[0], objective.n_classes
    directions = np.stack([plane.center, plane.dir1, plane.dir2]).reshape(3 * C, -1)
    product = best_of(lambda: X @ directions.T)
    values = np.random.default_rng(0).standard_normal(N * C * (na + nb)) * 0.1
    exponentials = best_of(lambda: np.exp(values))
    # N C na nb multiply-adds in one large product: (nb x K) (K x na) with K = N C
    K = N * C
    left, right = np.ones((nb, K)) * 0.5, np.ones((K, na)) * 0.5
    combine = best_of(lambda: left @ right)
    return product + exponentials + combine, (product, exponentials, combine)


def one_case(objective, grid, seed):
    plane = random_plane(objective, objective.initial_theta(scale=1e-3, seed=seed), "filter", seed=seed)
    axis = make_axis(-1.0, 1.0, grid)
    fast_s = best_of(lambda: compute_slice(objective, plane, axis, axis, "data"), repeats=2)
    floor_s, parts = floor_seconds(objective, plane, grid, grid)
    landscape = compute_slice(objective, plane, axis, axis, "data")
    points = np.random.default_rng(seed).choice(grid * grid, 40, replace=False)
    reference = reference_slice(objective, plane, axis, axis, "data", points=points)
    mask = np.isfinite(reference)
    error = float(np.max(np.abs(landscape.values[mask] - reference[mask]) / np.abs(reference[mask])))
    return fast_s / floor_s, fast_s, parts, error


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    use_all_cores()
    digits = ClassifierSpec(dataset="digits", loss="softmax").build()
    cifar = cifar_sized()
    cases = [("digits", digits, 101, 3), ("digits", digits, 401, 4), ("cifar_sized", cifar, 101, 3),
             ("cifar_sized", cifar, 401, 4)]
    results = {}
    for round_index in range(args.rounds):
        for name, objective, grid, target in cases:
            results.setdefault((name, grid, target), []).append(one_case(objective, grid, round_index))
    print(f"linear softmax data slice: fast path / floor measured in the same run, min / median / max of "
          f"{args.rounds} rounds")
    for (name, grid, target), rounds in results.items():
        ratios = [r[0] for r in rounds]
        median_round = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
        product, exponentials, combine = median_round[2]
        print(f"  {name:12s} {grid} x {grid}: {min(ratios):5.1f} / {statistics.median(ratios):5.1f} / "
              f"{max(ratios):5.1f} x floor (target {target}x; fast {median_round[1]:.3f} s, floor = product "
              f"{product:.4f} + exp {exponentials:.4f} + combine {combine:.4f} s); max rel. error "
              f"{max(r[3] for r in rounds):.1e}")


if __name__ == "__main__":
    main()
