"""Peak memory of a CIFAR-sized render against the size of X (issue 17's target: at most 2x).

A CIFAR-shaped data set (10000 x 3072 pixels as float32 in an .npz file, as a user would
save it; X is 246 MB as float64) is rendered on a 3 x 3 grid by ``hillwalk render`` in a
fresh process, once with the linear classifier and once with a 100-unit network; each
child reports its own peak resident memory (``ru_maxrss``). A child that only imports the
app (the interpreter, NumPy and Hillwalk) is measured in the same run as the floor.

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
import resource, sys
from hillwalk.main import main
arguments = sys.argv[1:]
code = main(arguments) if arguments else 0
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
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
    result = subprocess.run([sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, check=True)
    line = [entry for entry in result.stdout.splitlines() if entry.startswith("PEAK_KB")][-1]
    return int(line.split()[1]) * 1024


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
        floors = []
        for _ in range(args.rounds):
            floors.append(peak_bytes([]))
            for name, arguments in cases.items():
                ratios[name].append(peak_bytes(arguments) / X_BYTES)
    print(f"peak resident memory of a CIFAR-sized render (X = {N} x {D} float64 = {X_BYTES / 1e6:.0f} MB), "
          f"min / median / max of {args.rounds} rounds; target: at most 2x X")
    for name, values in ratios.items():
        print(f"  {name:22s} {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} x X")
    print(f"  (the interpreter with NumPy and Hillwalk imported: {statistics.median(floors) / 1e6:.0f} MB, "
          f"{statistics.median(floors) / X_BYTES:.2f} x X, included above)")


if __name__ == "__main__":
    main()
