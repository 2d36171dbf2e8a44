"""Cost of the optimizers, measured against the gradient they consume, in one run.

* ``update_overhead``: per method, the time of one update rule application divided by the
  time of one full-batch ``loss_and_grad`` on digits (target: under 0.10).
* ``recording_overhead``: per method, the whole cost of a recorded step of a Run (update,
  full-data loss, train/validation accuracy, bookkeeping) minus one ``loss_and_grad``,
  divided by one ``loss_and_grad``: what recording costs on top of the gradient.
* ``race_steps_per_s``: steps per second of a race of SGD, momentum, RMSProp and Adam on
  digits with batch size 64 (each race step advances all four).
* ``in_plane_quick_step``: the app's default race (in the plane, batch 64, 300 steps, the
  four methods above) with the quick step (the minibatch's loss and gradient from the
  record's combined plane scores, ``PlaneObjective.quick_step``) against the same runs
  evaluated directly at the full parameters, in turn in the same run: time(quick) /
  time(direct), min / median / max of 5 rounds (below 1: the quick step is faster).

Prints a line per figure and, last, one JSON object.
Run: .venv/bin/python benchmarks/bench_optimizers.py
"""
import json
import statistics
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

from hillwalk.core.landscapes.directions import random_plane  # noqa: E402
from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402
from hillwalk.core.optimization.optimizers import METHOD_INFO, OptimizerSpec  # noqa: E402
from hillwalk.core.optimization.trajectory import PlaneObjective, Race, Run  # noqa: E402


def per_call(function, repeats):
    """Best of 5 batches of ``repeats`` calls: seconds per call."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - started) / repeats)
    return best


def main():
    objective = ClassifierSpec(dataset="digits").build()
    theta = objective.initial_theta(1e-3, 0)
    _, grad = objective.loss_and_grad(theta)
    gradient_s = per_call(lambda: objective.loss_and_grad(theta), 50)
    print(f"one full-batch loss_and_grad on digits: {gradient_s * 1e3:.3f} ms")
    update_overhead, recording_overhead = {}, {}
    # the methods with an update rule (the second-order ones step through their own solvers)
    for method in (m for m, info in METHOD_INFO.items() if info.rule is not None):
        optimizer = OptimizerSpec(method, lr=1e-3).build()
        optimizer.update(theta, grad)  # create the state
        update_overhead[method] = round(per_call(lambda optimizer=optimizer: optimizer.update(theta, grad), 2000) / gradient_s, 4)
        run = Run(objective, OptimizerSpec(method, lr=1e-3), theta, 10 ** 9)
        step_s = per_call(lambda run=run: run.advance(1), 40)
        recording_overhead[method] = round((step_s - gradient_s) / gradient_s, 3)
        print(f"{method:9s} update / gradient = {update_overhead[method]:.4f}; recorded step costs "
              f"{1 + recording_overhead[method]:.2f} gradients")
    specs = [OptimizerSpec(m, lr=1e-2, batch_size=64) for m in ("sgd", "momentum", "rmsprop", "adam")]
    race = Race(objective, specs, theta, 10 ** 9, seed=0)
    race.advance(5)
    started = time.perf_counter()
    race.advance(200)
    race_rate = 200 / (time.perf_counter() - started)
    print(f"4-method race on digits, batch 64: {race_rate:.0f} steps/s (each step advances all four)")
    in_plane = PlaneObjective(objective, random_plane(objective, theta, "filter", seed=0))

    def in_plane_race(quick):
        started = time.perf_counter()
        for spec in specs:
            run = Run(in_plane, spec, (0.5, -0.4), 300, seed=0)
            if not quick:
                run._quick_step = None   # every step evaluated at the full parameters
            run.run_to_end()
        return time.perf_counter() - started

    in_plane_race(True)
    ratios = [in_plane_race(True) / in_plane_race(False) for _ in range(5)]
    quick_step = [round(min(ratios), 3), round(statistics.median(ratios), 3), round(max(ratios), 3)]
    print(f"in-plane race (4 x 300 steps, batch 64), quick step / direct: {quick_step[0]:.2f} / {quick_step[1]:.2f} / "
          f"{quick_step[2]:.2f} (min / median / max of 5 rounds)")
    print(json.dumps({"gradient_ms": round(gradient_s * 1e3, 4), "update_overhead": update_overhead,
                      "recording_overhead": recording_overhead, "race_steps_per_s": round(race_rate, 1),
                      "in_plane_quick_step": quick_step,
                      "target_update_overhead": 0.10,
                      "all_under_target": all(v < 0.10 for v in update_overhead.values())}))


if __name__ == "__main__":
    main()
