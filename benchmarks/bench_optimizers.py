"""Cost of the optimizers, measured against the gradient they consume, in one run.

* ``update_overhead``: per method, the time of one update rule application divided by the
  time of one full-batch ``loss_and_grad`` on digits (target: under 0.10).
* ``recording_overhead``: per method, the whole cost of a recorded step of a Run (update,
  full-data loss, train/validation accuracy, bookkeeping) minus one ``loss_and_grad``,
  divided by one ``loss_and_grad``: what recording costs on top of the gradient.
* ``race_steps_per_s``: steps per second of a race of SGD, momentum, RMSProp and Adam on
  digits with batch size 64 (each race step advances all four).

Prints a line per figure and, last, one JSON object.
Run: .venv/bin/python benchmarks/bench_optimizers.py
"""
import json
import time

from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402
from hillwalk.core.optimization.optimizers import GRADIENT_METHODS, OptimizerSpec  # noqa: E402
from hillwalk.core.optimization.trajectory import Race, Run  # noqa: E402


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
    for method in GRADIENT_METHODS:
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
    print(json.dumps({"gradient_ms": round(gradient_s * 1e3, 4), "update_overhead": update_overhead,
                      "recording_overhead": recording_overhead, "race_steps_per_s": round(race_rate, 1),
                      "target_update_overhead": 0.10,
                      "all_under_target": all(v < 0.10 for v in update_overhead.values())}))


if __name__ == "__main__":
    main()
