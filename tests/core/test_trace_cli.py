"""`main.py trace`: rows, columns, divergence and errors, run as a real process."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def read_csv(path):
    return list(csv.reader(Path(path).read_text().splitlines()))


def test_acceptance_momentum_on_rosenbrock(tmp_path):
    out = tmp_path / "t.csv"
    result = run("trace", "--objective", "rosenbrock", "--optimizer", "momentum", "--lr", "0.001", "--momentum",
                 "0.9", "--steps", "1000", "--start", "-1.5", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    assert rows[0] == ["step", "loss", "theta_0", "theta_1"]
    assert len(rows) - 1 == 1001 and rows[1][0] == "0" and rows[-1][0] == "1000"
    x, y = float(rows[-1][2]), float(rows[-1][3])
    assert np.hypot(x - 1, y - 1) < 0.05
    assert (float(rows[1][2]), float(rows[1][3])) == (-1.5, 2.0)


def test_classifier_csv_has_the_data_columns(tmp_path):
    out = tmp_path / "c.csv"
    result = run("trace", "--objective", "classifier", "--dataset", "iris", "--optimizer", "adam", "--lr", "0.05",
                 "--steps", "30", "--batch-size", "16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    assert rows[0][:2] == ["step", "loss"] and rows[0][-4:] == ["batch_loss", "train_acc", "val_acc", "grad_norm"]
    assert len(rows[0]) == 2 + 3 * 5 + 4 and len(rows) == 32
    assert float(rows[-1][1]) < float(rows[1][1])


def test_npz_output_and_race(tmp_path):
    out = tmp_path / "r.npz"
    result = run("trace", "--objective", "quadratic", "--optimizer", "sgd,momentum,adam", "--lr", "0.02", "--steps",
                 "50", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as archive:
        # full-batch gradients on a 2-D function: not stochastic
        assert archive["methods"].tolist() == ["GD", "GD+momentum", "Adam"]
        assert archive["theta_1"].shape == (51, 2) and archive["loss_2"].shape == (51,)
        meta = json.loads(str(archive["meta"]))
    assert meta["settings"]["steps"] == 50 and meta["runs"][0]["diverged_at"] is None
    single = tmp_path / "s.npz"
    assert run("trace", "--optimizer", "adam", "--steps", "5", "--out", str(single)).returncode == 0
    with np.load(single) as archive:
        assert {"theta", "loss", "steps", "grad_norm", "meta"} <= set(archive.files)


def test_race_csv_has_a_method_column(tmp_path):
    out = tmp_path / "r.csv"
    assert run("trace", "--optimizer", "sgd,nesterov", "--steps", "10", "--out", str(out)).returncode == 0
    rows = read_csv(out)
    assert rows[0][0] == "method" and {r[0] for r in rows[1:]} == {"GD", "Nesterov"} and len(rows) == 23


def test_a_diverging_run_writes_its_rows_and_says_so(tmp_path):
    out = tmp_path / "d.csv"
    result = run("trace", "--objective", "rosenbrock", "--optimizer", "sgd", "--lr", "1000", "--steps", "100",
                 "--out", str(out))
    assert result.returncode == 0
    assert "diverged at step 1" in result.stderr and "Traceback" not in result.stderr
    rows = read_csv(out)
    assert len(rows) == 2 and all(np.isfinite(float(v)) for v in rows[1])


@pytest.mark.parametrize("args, fragment", [
    (("--optimizer", "sgdd"), "unknown optimizer 'sgdd'"),
    (("--lr", "-1"), "learning rate must be a number in (0, 1e+06]"),
    (("--batch-size", "8"), "--batch-size applies to --objective classifier"),
    (("--objective", "classifier", "--start", "1", "2"), "--start is for 2-D functions"),
    (("--momentum", "1.5"), "momentum mu must be a number in [0, 1)"),
    (("--schedule", "step", "--gamma", "2"), "gamma must be a number in (0, 1]"),
    (("--optimizer", "adam,adam"), "names a method twice"),
    (("--condition", "0.5", "--objective", "quadratic"), "condition number must be a number in [1"),
])
def test_bad_trace_arguments_exit_2(tmp_path, args, fragment):
    result = run("trace", "--steps", "5", "--out", str(tmp_path / "x.csv"), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_a_functions_methods_are_named_gd_in_every_output_whatever_their_batch(tmp_path):
    """A function session whose methods keep a batch size (from a scene on data) named them
    SGD in trace's printout and files, GD in its picture and the app."""
    preset = json.loads((ROOT / "resources" / "presets" / "07-beale.hillwalk.json").read_text())
    for setting in preset["optimizers"]:
        setting["spec"]["batch_size"] = 64
    session = tmp_path / "beale.hillwalk.json"
    session.write_text(json.dumps(preset))
    out = tmp_path / "b.npz"
    result = run("trace", "--session", str(session), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as archive:
        names = archive["methods"].tolist()
    assert not any(name.startswith("SGD") for name in names) and any(name.startswith("GD") for name in names)
    assert "SGD" not in result.stdout
