"""Hyperparameter search: the speed-up of worker processes, and how soon a cancelled search
ends.

1. The same 16-trial random search (digits, linear softmax, 5 epochs of SGD) with 1 worker
   (in this process) and with every core: their wall times and the ratio (the table is the
   same; the reference is the serial run of the same search in the same run).
2. A 400-trial search of 20-epoch trials on every core, stopped once two trials have
   finished: the time from the stop request to the search's return, against one trial's
   own time measured in the same run (the issue's target: within a second).

Three rounds; medians. Run: .venv/bin/python benchmarks/bench_search.py
"""
import statistics
import time

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

from hillwalk.core.labs.hyperparameter_search import SearchSpec, default_workers, search, train_trial
from hillwalk.core.models.problem import ClassifierSpec


def stopped_search(problem, objective, spec, workers):
    """Seconds from the stop request (once two trials have finished) to the return."""
    finished, asked = [], []

    def should_stop():
        if len(finished) >= 2 and not asked:
            asked.append(time.perf_counter())
        return bool(asked)

    result = search(problem, spec, objective, workers=workers, should_stop=should_stop,
                    report=lambda fraction, text, partial=None: finished.extend(partial or []))
    assert not result.complete
    return time.perf_counter() - asked[0]


def main():
    problem = ClassifierSpec()
    objective = problem.build()
    workers = default_workers()
    times = {epochs: ([], []) for epochs in (5, 20)}
    latency, one_trial = [], []
    for _ in range(3):
        for epochs, (serial, parallel) in times.items():
            spec = SearchSpec(strategy="random", trials=16, epochs=epochs, seed=0)
            start = time.perf_counter()
            first = search(problem, spec, objective, workers=1)
            serial.append(time.perf_counter() - start)
            start = time.perf_counter()
            second = search(problem, spec, objective, workers=workers)
            parallel.append(time.perf_counter() - start)
            assert [t.val_acc for t in first.trials] == [t.val_acc for t in second.trials]
        long = SearchSpec(strategy="random", trials=400, epochs=20, seed=1)
        start = time.perf_counter()
        train_trial(problem, objective, {"lr": 0.01, "reg": 1e-3}, long)
        one_trial.append(time.perf_counter() - start)
        latency.append(stopped_search(problem, objective, long, workers))
    for epochs, (serial, parallel) in times.items():
        s, p = statistics.median(serial), statistics.median(parallel)
        print(f"16 trials x {epochs} epochs: 1 worker {s:.2f} s, {workers} workers {p:.2f} s (starting the "
              f"processes included): {s / p:.2f}x")
    lat, trial = statistics.median(latency), statistics.median(one_trial)
    print(f"stop -> return: {1000 * lat:.0f} ms (one 20-epoch trial: {1000 * trial:.0f} ms; ratio {lat / trial:.2f}; "
          f"target: under 1 s)")


if __name__ == "__main__":
    main()
