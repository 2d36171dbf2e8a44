"""`hillwalk hessian`: the spectrum at a point, written so that plain NumPy can recompute it."""
import csv
import json
import subprocess
import sys

import numpy as np

from hillwalk.core.curvature import full_hessian
from hillwalk.core.models.problem import ClassifierSpec

PYTHON = sys.executable


def run(tmp_path, *args):
    return subprocess.run([PYTHON, "-m", "hillwalk", "hessian", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)


def test_the_npz_holds_enough_to_recompute_the_spectrum_with_numpy(tmp_path):
    result = run(tmp_path, "--dataset", "iris", "--lam", "0.01", "--top", "3", "--bottom", "1", "--trace", "200",
                 "--density", "--out", "spectrum.npz", "--save-data")
    assert result.returncode == 0, result.stderr
    assert "largest eigenvalues" in result.stdout and "2 / lambda_max" in result.stdout
    saved = np.load(tmp_path / "spectrum.npz")
    meta = json.loads(str(saved["meta"]))
    X, y, W = saved["X"], saved["y"], saved["theta"]
    assert W.shape == (3, 5) and X.shape[1] == 5 and y.shape == (X.shape[0],) and meta["at"] == "trained"
    # the softmax's Hessian from its definition, with nothing of Hillwalk
    scores = X @ W.T
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    hessian = sum(np.kron(np.diag(q) - np.outer(q, q), np.outer(x, x)) for x, q in zip(X, p)) / X.shape[0]
    mask = np.ones(W.shape)
    mask[:, -1] = 0.0   # the bias column is not penalised by default
    hessian += np.diag(2 * meta["problem"]["lam"] * mask.ravel())
    exact = np.linalg.eigvalsh(hessian)
    kinds = saved["kinds"].tolist()
    np.testing.assert_allclose(saved["eigenvalues"][:3], exact[::-1][:3], rtol=1e-8)
    assert kinds == ["top"] * 3 + ["bottom"]
    assert abs(saved["eigenvalues"][3] - exact[0]) <= saved["residuals"][3] + 1e-12
    assert meta["exact_trace"] == np.trace(hessian) or abs(meta["exact_trace"] - np.trace(hessian)) < 1e-9
    assert saved["density"].shape == saved["density_grid"].shape


def test_the_csv_and_what_is_refused(tmp_path):
    result = run(tmp_path, "--dataset", "iris", "--model", "net", "--hidden", "4,4", "--at", "init", "--top", "2",
                 "--out", "spectrum.csv")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "spectrum.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "index", "eigenvalue", "residual"] and len(rows) == 3
    network = ClassifierSpec(dataset="iris", model="net", hidden=(4, 4)).build()
    exact = np.linalg.eigvalsh(full_hessian(network, network.initial_theta(seed=0)))
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], exact[::-1][:2], rtol=1e-8)
    for args, message in ((("--top", "0"), "from 1 to 1000"), (("--out", "x.gif"), "use .npz, .csv or .png"),
                          (("--save-data",), "only applies to .npz"), (("--trace", "1"), "probes")):
        result = run(tmp_path, "--dataset", "iris", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_the_png_draws_the_density(tmp_path):
    result = run(tmp_path, "--dataset", "iris", "--top", "3", "--density", "--out", "spectrum.png")
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "spectrum.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
