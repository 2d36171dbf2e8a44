"""How promptly a cancelled slice stops: the time from the cancel request to
``compute_slice`` returning, on a 401 x 401 grid of a CIFAR-shaped linear classifier.

This was a wall-clock assertion in tests/core/test_landscape.py (stopped within 0.5 s of
the request); the test keeps what holds on any machine (the evaluation returns None at the
first check after the request) and this script measures how long that check takes to come.
For each loss it prints the longest of ``--repeats`` stop times (requests made from another
thread at points spread over the evaluation, as the window's Cancel does), as a ratio to
the 0.5 s the test allowed and as a share of the whole slice's time, measured in the same
run.

    python benchmarks/bench_cancel.py               # softmax and svm, 3000 examples
    python benchmarks/bench_cancel.py --examples 10000
"""
import argparse
import threading
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.landscape import compute_slice, make_axis
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.regularizers import Regularizer

BUDGET_S = 0.5  # what the test allowed between the request and the return


def problem(loss, n, d=3072, seed=0):
    """A softmax or SVM classifier on random data of CIFAR's shape (n x 3072, 10 classes)
    and a filter-normalized random plane through a small random initialization."""
    rng = np.random.default_rng(seed)
    data = Dataset(rng.integers(0, 256, (n, d)).astype(float) - 128, rng.integers(0, 10, n),
                   tuple(str(k) for k in range(10)), tuple(f"x{k}" for k in range(d)), {"name": "cifar-like"})
    objective = LinearClassifier(data, loss=loss, regularizer=Regularizer("l2", 1e-3))
    return objective, random_plane(objective, objective.initial_theta(1e-4, 0), "filter", seed=0)


def stop_time(objective, plane, axis, after_s):
    """Seconds from a cancel request, made from another thread ``after_s`` seconds into the
    evaluation (as the window's Cancel does), to ``compute_slice`` returning."""
    requested = threading.Event()
    returned = []

    def work():
        returned.append(compute_slice(objective, plane, axis, axis, "total", should_stop=requested.is_set))
        returned.append(time.perf_counter())

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(after_s)
    asked = time.perf_counter()
    requested.set()
    worker.join()
    if returned[0] is not None:
        return None  # it had finished before the request
    return returned[1] - asked


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000, help="training examples (default 3000, as the test)")
    parser.add_argument("--repeats", type=int, default=5, help="cancel requests per loss, at different checks")
    args = parser.parse_args()
    axis = make_axis(-1, 1, 401)
    print(f"401 x 401 slice, {args.examples} x 3072 data, 10 classes")
    for loss in ("softmax", "svm"):
        objective, plane = problem(loss, args.examples)
        started = time.perf_counter()
        compute_slice(objective, plane, axis, axis, "total")
        whole = time.perf_counter() - started
        # requests spread over the evaluation: each lands in a different step of the work
        shares = np.linspace(0.05, 0.9, args.repeats)
        times = [t for t in (stop_time(objective, plane, axis, share * whole) for share in shares) if t is not None]
        longest = max(times)
        print(f"{loss:8s} whole slice {whole:6.2f} s   longest stop {longest * 1000:7.1f} ms   "
              f"ratio to {BUDGET_S:g} s {longest / BUDGET_S:5.2f}   share of the slice {longest / whole:6.3f}",
              flush=True)


if __name__ == "__main__":
    main()
