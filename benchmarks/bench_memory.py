"""Peak memory of a CIFAR-sized render against the size of X (issue 17's target: at most 2x).

A CIFAR-shaped data set (10000 x 3072 pixels as float32 in an .npz file, as a user would
save it; X is 246 MB as float64) is rendered on a 3 x 3 grid by ``hillwalk render`` in a
fresh process, once with the linear classifier and once with a 100-unit network; each
child reports its own peak resident memory (``ru_maxrss``). A child that only imports the
app (the interpreter, NumPy and Hillwalk) is measured in the same run as the floor.

On Linux the network's slice runs in worker processes forked from the render (see
``core.landscapes.landscape.Parallelism``): they share its memory, and what is their own
(private pages: their buffers, the pages either side wrote after the fork) is sampled
every millisecond from /proc while they run; its largest sum is added to the render's
peak (as if both peaks came at once: an upper bound).

Prints, per model, peak / size of X as min / median / max over the rounds.

Run: .venv/bin/python benchmarks/bench_memory.py [--rounds 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

N, D = 10000, 3072
X_BYTES = N * D * 8

CHILD = r'''
import os, resource, sys, threading, time
from hillwalk.main import main

workers_kb = [0]        # the largest sum of the forked workers' private memory seen
finished = threading.Event()


def sample_workers():
    """Every millisecond: the private memory of this process's children (its forked slice
    workers), summed."""
    while not finished.is_set():
        total = 0
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:   # no /proc: nothing to sample (and no forked workers)
            return
        for task in tasks:
            try:
                with open(f"/proc/self/task/{task}/children") as listing:
                    pids = listing.read().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/smaps_rollup") as rollup:
                        total += sum(int(line.split()[1]) for line in rollup
                                     if line.startswith(("Private_Clean:", "Private_Dirty:")))
                except OSError:   # it ended meanwhile
                    pass
        workers_kb[0] = max(workers_kb[0], total)
        time.sleep(0.001)


sampler = threading.Thread(target=sample_workers, daemon=True)
sampler.start()
arguments = sys.argv[1:]
code = main(arguments) if arguments else 0
finished.set()
sampler.join()
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, workers_kb[0])
sys.exit(code)
'''


MAKE_DATA = f'''
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(sys.argv[1], X=rng.integers(0, 256, size=({N}, {D}), dtype=np.uint8).astype(np.float32),
         y=rng.integers(0, 10, {N}))
'''


def peak_bytes(arguments):
    """The render's peak resident memory plus its forked workers' largest private memory,
    and the latter alone, in bytes."""
    result = subprocess.run([sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, check=True)
    line = [entry for entry in result.stdout.splitlines() if entry.startswith("PEAK_KB")][-1]
    own_kb, workers_kb = (int(value) for value in line.split()[1:])
    return (own_kb + workers_kb) * 1024, workers_kb * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "cifar_sized.npz")
        # written by a child: a child's peak (ru_maxrss) starts from its parent's at the fork,
        # so this process must never hold the data itself
        subprocess.run([sys.executable, "-c", MAKE_DATA, data], check=True)
        out = os.path.join(folder, "slice.npz")
        cases = {"linear": ["render", "--dataset", data, "--grid", "3", "--center", "init", "--out", out],
                 "net (100 ReLU units)": ["render", "--dataset", data, "--model", "net", "--hidden", "100",
                                          "--grid", "3", "--center", "init", "--out", out]}
        ratios = {name: [] for name in cases}
        workers = {name: [] for name in cases}
        floors = []
        for _ in range(args.rounds):
            floors.append(peak_bytes([])[0])
            for name, arguments in cases.items():
                peak, forked = peak_bytes(arguments)
                ratios[name].append(peak / X_BYTES)
                workers[name].append(forked)
    print(f"peak resident memory of a CIFAR-sized render (X = {N} x {D} float64 = {X_BYTES / 1e6:.0f} MB), "
          f"min / median / max of {args.rounds} rounds; target: at most 2x X")
    for name, values in ratios.items():
        forked = max(workers[name])
        note = f"   (forked workers' own memory, included: at most {forked / 1e6:.0f} MB)" if forked else ""
        print(f"  {name:22s} {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} x X{note}")
    print(f"  (the interpreter with NumPy and Hillwalk imported: {statistics.median(floors) / 1e6:.0f} MB, "
          f"{statistics.median(floors) / X_BYTES:.2f} x X, included above)")


if __name__ == "__main__":
    main()
