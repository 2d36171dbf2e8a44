"""Default BLAS threads against one, path by path (issue 17: "measured, not assumed").

Each path is timed in a child process started twice per round, once with the BLAS
libraries' default thread count and once with OPENBLAS_NUM_THREADS = OMP_NUM_THREADS =
MKL_NUM_THREADS = 1 (the variables are read when NumPy loads, so a process cannot switch).
The child sets the process up as the app and the command line do (``hillwalk.blas_setup``
before NumPy, then ``main.use_all_cores``: the slices' workers and the shared BLAS limit
that the paths hold where their products are small), so "default" is the app's own
configuration; the races are recorded as ``trace`` and ``race`` record them
(``experiment.record_race``).
Prints, per path, the ratio time(default) / time(one thread) as min / median / max over the
rounds: above 1, the default threads are slower.

Paths: the linear fast path (digits, 401 x 401), a recorded race (digits, SGD and Adam on
minibatches of 64, 300 steps each, in the full space), the generic network path (digits,
64 hidden units, 101 x 101), and on a CIFAR-sized synthetic data set (6000 x 3072, float32
in the file) the linear slice (101 x 101) and 50 recorded SGD steps.

Run: .venv/bin/python benchmarks/bench_blas_threads.py [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r'''
import json, sys, time
import hillwalk.blas_setup  # before NumPy, as in the app
import numpy as np
from hillwalk.main import use_all_cores
use_all_cores()   # as the app and the command line do first
from hillwalk.core import experiment
from hillwalk.core.io.session import RaceSettings
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.optimization.optimizers import OptimizerSpec

def timed(work):
    start = time.perf_counter()
    work()
    return time.perf_counter() - start

cifar_path = sys.argv[1]
times = {}
digits = ClassifierSpec().build()
spec = SliceSpec(grid=401, train_steps=50)
plane = experiment.build_plane(digits, spec)
times["linear slice, digits, 401 x 401"] = timed(lambda: experiment.compute_landscape(digits, plane, spec))
race = RaceSettings(steps=300, in_plane=False)
methods = [OptimizerSpec("sgd", lr=0.02, batch_size=64), OptimizerSpec("adam", lr=0.01, batch_size=64)]
times["recorded race, digits, 2 x 300 steps"] = timed(lambda: experiment.record_race(digits, plane, race, methods))
net = ClassifierSpec(model="net", hidden=(64,)).build()
net_spec = SliceSpec(grid=101, train_steps=20)
net_plane = experiment.build_plane(net, net_spec)
times["network slice (generic path), digits, 101 x 101"] = timed(
    lambda: experiment.compute_landscape(net, net_plane, net_spec))
cifar = ClassifierSpec(dataset=cifar_path).build()
cifar_spec = SliceSpec(grid=101, train_steps=5)
cifar_plane = experiment.build_plane(cifar, cifar_spec)
times["linear slice, 6000 x 3072, 101 x 101"] = timed(lambda: experiment.compute_landscape(cifar, cifar_plane, cifar_spec))
times["recorded race, 6000 x 3072, 50 SGD steps"] = timed(
    lambda: experiment.record_race(cifar, cifar_plane, RaceSettings(steps=50, in_plane=False), methods[:1]))
print(json.dumps(times))
'''

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_child(cifar_path, one_thread):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    if one_thread:
        env.update({name: "1" for name in VARIABLES})
    result = subprocess.run([sys.executable, "-c", CHILD, cifar_path], env=env, capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    import numpy as np

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cifar_path = os.path.join(folder, "cifar_sized.npz")
        rng = np.random.default_rng(0)
        np.savez(cifar_path, X=rng.standard_normal((6000, 3072)).astype(np.float32), y=rng.integers(0, 10, 6000))
        ratios, seconds = {}, {}
        started = time.perf_counter()
        for _ in range(args.rounds):
            default, one = run_child(cifar_path, False), run_child(cifar_path, True)
            for path in default:
                ratios.setdefault(path, []).append(default[path] / one[path])
                seconds.setdefault(path, []).append((default[path], one[path]))
    print(f"time(default BLAS threads) / time(one thread), min / median / max of {args.rounds} rounds "
          f"({time.perf_counter() - started:.0f} s in all); above 1: the default threads are slower")
    for path, values in ratios.items():
        pairs = seconds[path]
        print(f"  {path:50s} {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}   "
              f"(median {statistics.median(p[0] for p in pairs):.3f} s vs {statistics.median(p[1] for p in pairs):.3f} s)")


if __name__ == "__main__":
    main()
